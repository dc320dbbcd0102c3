"""A lean PyInstaller hook for the CPU-only torch the app runs on.

It replaces pyinstaller-hooks-contrib's hook-torch, which collects every torch submodule, its
source files and all its data (test binaries, headers, CMake files): with it the bundle is
about 1.7 times larger and builds more slowly (figures in docs/benchmarks.md). The app only
loads a TorchScript archive and runs it, so this hook bundles torch's shared libraries minus the
test/example ones, and lets the import graph find the Python modules
(``build_support.EXCLUDED_MODULES`` drops the subsystems inference never touches).
"""

from pathlib import Path

from PyInstaller.utils.hooks import PY_DYLIB_PATTERNS, collect_dynamic_libs, get_package_paths

TORCH_DIR = Path(get_package_paths("torch")[1])
# Shared libraries in torch/lib that only torch's own C++ tests and examples load.
TEST_LIBRARIES = {
    "libaoti_custom_ops.so",
    "libbackend_with_compiler.so",
    "libjitbackend_test.so",
    "libtorchbind_test.so",
}

binaries = [
    (src, dest)
    for src, dest in collect_dynamic_libs("torch", search_patterns=PY_DYLIB_PATTERNS + ["*.so.*"])
    if Path(src).name not in TEST_LIBRARIES
]
# `import torch` refuses to start on Linux/macOS without its shared-memory helper (44 kB).
_shm_manager = TORCH_DIR / "bin" / "torch_shm_manager"
if _shm_manager.is_file():
    binaries.append((str(_shm_manager), "torch/bin"))

# torch's config modules read their own source at import time (torch.utils._config_module uses
# inspect.getsource to find "_compile_ignored" comments), so these few files ship as .py too.
module_collection_mode = {
    "torch." + ".".join(path.relative_to(TORCH_DIR).with_suffix("").parts): "pyz+py"
    for path in TORCH_DIR.rglob("*.py")
    if path.name != "_config_module.py"
    and "install_config_module(" in path.read_text(encoding="utf-8", errors="ignore")
}

# Same reason as the contrib hook: symlinks from torch/lib to the top level confuse torch's
# search for its own libraries.
bindepend_symlink_suppression = ["**/torch/lib/*.so*"]
warn_on_missing_hiddenimports = False
