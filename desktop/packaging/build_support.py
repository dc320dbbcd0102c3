"""Build steps ``build.spec`` calls: pick the model, stage the self-test files, strip torch, zip.

Kept out of the spec so each step has a name and a docstring; runs only at build time, in the
build venv (``make package``), never inside the app.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

APP_NAME = "cxr-pneumonia"
APP_TITLE = "CXR Pneumonia"
# The Windows console companion of the windowed exe (build.spec): cmd and scripts run this one.
CLI_NAME = f"{APP_NAME}-cli"
# Environment variable naming a model.pt (its .sha256 beside it) to bundle instead of
# assets/model.pt: tests build with a small exported model before the real one exists.
MODEL_ENV = "CXR_PACKAGE_MODEL"
# torch's own libraries and libpython are plain ELF files, safe to strip (~110 MiB less; pyenv's
# libpython keeps its debug symbols). The auditwheel-repaired libraries of numpy and Pillow
# (numpy.libs, pillow.libs) are not: strip breaks their patched ELF layout ("ELF load command
# address/offset not page-aligned"), so PyInstaller's own strip=True stays off.
STRIPPABLE = ("torch/lib/", "torch/_C", "libpython")
# The imagecodecs extension modules desktop.reading.dicom_decoders calls (JPEG, JPEG-LS and
# JPEG 2000) and what they import. imagecodecs loads each codec by name on first use, so
# PyInstaller sees none of them; naming these keeps the other ~60 codecs (~75 MB) out of the
# bundle (these are ~5 MB with libjpeg-turbo, CharLS and OpenJPEG). jpeg8_decode lives in _jpeg8
# in the Linux wheels and in _jpeg (jpeg8_* are aliases there) in the Windows ones:
# imagecodecs_modules() picks what is installed.
IMAGECODECS_MODULES = ["imagecodecs._jpegls", "imagecodecs._jpeg2k", "imagecodecs._shared",
                       "imagecodecs._shared_cython"]
IMAGECODECS_JPEG = ("imagecodecs._jpeg8", "imagecodecs._jpeg")
# Files of the collected packages the app never opens (see prune), on every platform.
PRUNED_SUFFIXES = (".lib", ".pdb", ".h", ".hpp", ".a", ".cmake", ".pyi")
# Microsoft's VC++ runtime DLLs torch's and the other packages' DLLs link (vc_runtime_binaries).
VC_RUNTIME_DLLS = ("concrt140.dll", "msvcp140.dll", "msvcp140_1.dll", "msvcp140_2.dll",
                   "vcruntime140.dll", "vcruntime140_1.dll", "vcruntime140_threads.dll")
# Pillow's compiled plugins for what the app never reads or draws: AVIF images (no .avif in the
# reader's list; Pillow probes the plugin at Image.open and goes on without it) and FreeType text
# (with libavif, libfreetype and libharfbuzz: ~12 MiB on Windows, ~8 MiB on Linux).
# pydicom likewise probes GDCM and pyjpegls (highdicom's dependency, for JPEG-LS encoding) when it
# registers its decoders; the reader names its decoders (dicom_decoders.plugin_for) and uses
# neither (GDCM alone was 17 MiB, pyjpegls 6.4 MiB).
PROBED_MODULES = ["PIL._avif", "PIL._imagingft", "gdcm", "jpeg_ls"]
# highdicom's tables of the DICOM standard, which it parses with json.loads: shipped without the
# indentation (22.7 MB -> 15.7 MB; the same JSON values).
COMPACTED_JSON = ("highdicom/_standard/",)
# Modules the app never runs: torch's compiler stack, export/ONNX/distributed tooling, the
# symbolic-maths and graph libraries only those use, and build tools. Checked against what the
# app imports at run time, and by the packaging test (self-test and predict run in the bundle).
EXCLUDED_MODULES = [
    "torchvision",
    "training",
    "tests",
    "benchmarks",
    "desktop.packaging",
    "torch._dynamo",
    "torch._inductor",
    "torch.onnx",
    "torch.utils.tensorboard",
    "torch.utils.benchmark",
    "torch.utils.bottleneck",
    "torch.distributed.elastic",
    "torch.distributed.checkpoint",
    "torch.distributed.fsdp",
    "torch.distributed.pipelining",
    "torch.distributed.tensor.parallel",
    "caffe2",
    "functorch",
    "sympy",
    "mpmath",
    "networkx",
    "jinja2",
    "fsspec",
    "setuptools",
    "pkg_resources",
    "distutils",
    "pip",
    "PyInstaller",
    "IPython",
    "matplotlib",
    "pytest",
    "pydoc_data",
    "babel",  # compiles .po files in a checkout; the bundle ships compiled .mo files (32 MiB)
    *PROBED_MODULES,
]


def imagecodecs_modules() -> list[str]:
    """The hidden imports for the codecs the app calls, with this platform's JPEG module."""
    import importlib.util

    jpeg = next((name for name in IMAGECODECS_JPEG if importlib.util.find_spec(name)), None)
    if jpeg is None:
        sys.exit(f"build.spec: imagecodecs has none of {', '.join(IMAGECODECS_JPEG)}")
    return [jpeg, *IMAGECODECS_MODULES]


def model_to_bundle(root: Path) -> Path:
    """``$CXR_PACKAGE_MODEL`` if set, else ``assets/model.pt``; both files must exist."""
    model = Path(os.environ.get(MODEL_ENV) or root / "assets" / "model.pt")
    for path in (model, Path(f"{model}.sha256")):
        if not path.is_file():
            sys.exit(
                f"build.spec: {path} is missing. Train and export the model (make train), or set "
                f"{MODEL_ENV} to a model.pt exported by training.export."
            )
    return model


def stage_assets(root: Path, model: Path, staging: Path) -> list[tuple[str, str]]:
    """Copy what the bundle's ``assets/`` holds into ``staging`` and return PyInstaller datas.

    The model and its hash, the icon, and the self-test image (one real chest X-ray of the
    Kermany test split, read from ``../shared`` at build time, never kept in the repository)
    with what the model makes of it from source (computed here, with the same torch the bundle
    gets).
    """
    from desktop.selftest import write_selftest_files

    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for source in (model, Path(f"{model}.sha256"), root / "assets" / "icon.png"):
        if source.is_file():
            # copyfile, not copy2: copying the metadata aborts under Wine (the Windows build)
            shutil.copyfile(source, staging / source.name.replace(model.name, "model.pt"))
    write_selftest_files(staging, staging / "model.pt", selftest_xray(root))
    return [(str(path), "assets") for path in sorted(staging.iterdir())]


SELFTEST_XRAY = "data/chest_xray_224/test/PNEUMONIA/person100_bacteria_475.jpeg"
SELFTEST_CREDIT = ("Kermany et al. 2018, chest X-ray test split, PNEUMONIA/"
                   "person100_bacteria_475.jpeg, CC BY 4.0 (doi:10.17632/rscbjbr9sj.2)")


def selftest_xray(root: Path) -> tuple[Path, str]:
    """The real chest X-ray the self-test classifies, and its attribution; the build stops
    with a sentence saying where it looked when ``../shared`` is not beside the checkout."""
    path = root.parent / "shared" / SELFTEST_XRAY
    if not path.is_file():
        sys.exit(f"build.spec: the self-test's chest X-ray {path} is missing; the build needs "
                 "the shared data folder beside the checkout (../shared, read-only; its images "
                 "are never copied into the repository)")
    return path, SELFTEST_CREDIT


def compiled_translations(root: Path) -> list[tuple[str, str]]:
    """Every ``translations/<lang>/LC_MESSAGES/cxr.mo``; the build fails if a ``.po`` has none."""
    datas = []
    for po in sorted((root / "translations").glob("*/LC_MESSAGES/cxr.po")):
        mo = po.with_suffix(".mo")
        if not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime:
            sys.exit(f"build.spec: {mo} is missing or older than its .po; run make translations")
        datas.append((str(mo), str(mo.parent.relative_to(root))))
    return datas


def prune(toc: list) -> list:
    """``toc`` (PyInstaller's binaries or datas) without the files no code path of the app opens:
    import libraries, debug symbols and C/C++ headers are for compiling against a package."""
    return [entry for entry in toc if not _pruned(entry[0])]


def _pruned(dest: str) -> bool:
    name = dest.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return name.endswith(PRUNED_SUFFIXES)


def compacted_json(datas: list, cache: Path) -> list:
    """``datas`` with the JSON files under ``COMPACTED_JSON`` replaced by copies written without
    whitespace (``cache`` keeps them). A file that is not valid JSON is shipped as it is."""
    result = []
    for dest, source, kind in datas:
        target = dest.replace("\\", "/")
        if not (source.endswith(".json") and target.startswith(COMPACTED_JSON)):
            result.append((dest, source, kind))
            continue
        copy = cache / target
        try:
            values = json.loads(Path(source).read_bytes())
        except ValueError:
            result.append((dest, source, kind))
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(json.dumps(values, separators=(",", ":"), ensure_ascii=False),
                        encoding="utf-8")
        result.append((dest, str(copy), kind))
    return result


def vc_runtime_binaries() -> list:
    """Windows: Microsoft's redistributable VC++ runtime, beside the exe (else ``[]``).

    torch needs msvcp140*.dll and vcruntime140_threads.dll, which a laptop without the VC++
    redistributable lacks; PyInstaller takes them for system files (under Wine they are) and
    leaves them out. The ``msvc-runtime`` wheel installs Microsoft's copies into ``sys.prefix``.
    """
    if sys.platform != "win32":
        return []
    folder = Path(sys.prefix)
    missing = [name for name in VC_RUNTIME_DLLS if not (folder / name).is_file()]
    if missing:
        sys.exit(f"build.spec: {', '.join(missing)} not in {folder}: pip install msvc-runtime")
    return [(name, str(folder / name), "BINARY") for name in VC_RUNTIME_DLLS]


def with_binaries(toc: list, extra: list) -> list:
    """``toc`` plus ``extra``; an entry of ``extra`` replaces one of ``toc`` at the same place."""
    replaced = {dest.lower() for dest, _, _ in extra}
    return [entry for entry in toc if entry[0].lower() not in replaced] + extra


def strip_torch_libraries(binaries: list, cache: Path) -> list:
    """The binaries list with torch's libraries replaced by stripped copies (cached by mtime)."""
    stripper = shutil.which("strip")
    if stripper is None or sys.platform not in ("linux",):
        return binaries  # Windows DLLs carry no symbol table; macOS needs codesigning care
    result = []
    for dest, source, kind in binaries:
        if not any(part in dest.replace(os.sep, "/") for part in STRIPPABLE):
            result.append((dest, source, kind))
            continue
        copy = cache / dest
        if not copy.exists() or copy.stat().st_mtime < Path(source).stat().st_mtime:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
            subprocess.run([stripper, "--strip-unneeded", str(copy)], check=True)
        result.append((dest, str(copy), kind))
    return result


# Exec runs the executable beside the launcher (%k: the launcher's own path), whatever folder the
# app was copied to. Escaped per the Desktop Entry spec: \$ and \" inside a quoted argument,
# then each backslash doubled in the file; desktop-file-validate accepts it.
LAUNCH_SCRIPT = 'd=$(dirname "$1"); shift; exec "$d/{name}" "$@"'
DESKTOP_ENTRY = """[Desktop Entry]
Type=Application
Name={title}
Comment=Chest X-ray pneumonia classifier (research and teaching, not for diagnosis)
Exec=sh -c "{script}" sh %k %F
Icon={icon}
Terminal=false
Categories=Science;MedicalSoftware;
MimeType=image/jpeg;image/png;image/bmp;image/tiff;application/dicom;
"""


def write_desktop_entry(app_dir: Path) -> Path:
    """A ``.desktop`` launcher beside the executable, for double-clicking in a file manager.

    ``%k`` is the launcher's own path, so the folder can be copied anywhere. A launcher's icon
    must be an absolute path or a theme name; the theme name works once the icon is installed
    (README, Packaging), else the file manager shows its generic application icon.
    """
    script = LAUNCH_SCRIPT.format(name=APP_NAME)
    for char in '\\"$`':
        script = script.replace(char, "\\" + char)
    script = script.replace("\\", "\\\\")
    text = DESKTOP_ENTRY.format(title=APP_TITLE, script=script, icon=APP_NAME)
    entry = app_dir / f"{APP_NAME}.desktop"
    entry.write_text(text, encoding="utf-8")
    entry.chmod(0o755)
    return entry


def write_zip(app_dir: Path) -> Path:
    """``<dist>/<app>.zip`` of the folder; links stay links, executable bits are kept."""
    target = app_dir.with_suffix(".zip")
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(app_dir.rglob("*")):
            name = str(path.relative_to(app_dir.parent))
            info = zipfile.ZipInfo.from_file(path, name, strict_timestamps=False)
            if path.is_symlink():
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, os.readlink(path))
            elif path.is_file():
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as source, archive.open(info, "w") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
    os.replace(partial, target)
    return target


def size_report(app_dir: Path, top: int = 8) -> str:
    """Bundle size and its largest parts, for the build log and the README."""
    sizes: Counter[str] = Counter()
    for path in app_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            sizes[str(path.relative_to(app_dir))] += path.stat().st_size
    total = sum(sizes.values())
    lines = [f"{app_dir.name}: {total / 2**20:.0f} MiB in {len(sizes)} files; largest:"]
    lines += [f"  {size / 2**20:7.1f} MiB  {name}" for name, size in sizes.most_common(top)]
    return "\n".join(lines)
