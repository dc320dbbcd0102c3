"""The packaged app: `make package` builds it, and the copy a user unzips works on its own.

Builds once per session (a few minutes on 2 cores: the build venv with the CPU-only torch, then
PyInstaller). Bundles ``assets/model.pt`` when it exists (what ships), else a small model made
here whose output depends on its input, so "bundle and source agree" can fail. One fast test
checks, without building, that nothing the app imports is excluded from the bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, require_shared
from tests.desktop.conftest import make_bundle

ROOT = Path(__file__).resolve().parents[2]
APP = "cxr-pneumonia"
APP_DIR = ROOT / "dist" / APP
ZIP = ROOT / "dist" / f"{APP}.zip"
BUILD_TIMEOUT_S = 1500
RUN_TIMEOUT_S = 180




# What the app imports when it opens the window, loads the model, predicts, explains and writes
# both reports.
APP_IMPORTS = """
import sys
from pathlib import Path
import desktop.__main__, desktop.ui.app, desktop.cli, desktop.selftest, desktop.ui.shortcuts
from desktop.engine.inference import Engine
from desktop.engine.session import Session
from desktop.reports import content as report
from desktop.reports import pdf as report_pdf
engine = Engine.load(Path(sys.argv[1]))
[result] = engine.predict_paths([Path(sys.argv[2])], heatmaps=True)
session = Session()
session.add(result)
report_pdf.single_pdf(report.single_report(result, session, engine.metadata, engine.sha256,
                                           image=result.preview, heatmap_shown=True))
report_pdf.batch_pdf(report.batch_report([result], session, engine.metadata, engine.sha256))
imported = set(sys.modules)
from desktop.packaging.build_support import EXCLUDED_MODULES, PROBED_MODULES
from tests.support.model_fixtures import write_input_sensitive_model
needed = [x for x in EXCLUDED_MODULES if x not in PROBED_MODULES]  # probed: imported if there
print(sorted(m for m in imported for x in needed if m == x or m.startswith(x + ".")))
"""


@pytest.mark.integration
def test_nothing_the_app_imports_is_left_out_of_the_bundle(tiny_model, tmp_path):
    from desktop.selftest import synthetic_chest_xray

    image = tmp_path / "chest.png"
    synthetic_chest_xray(512).save(image)
    result = subprocess.run(
        [sys.executable, "-c", APP_IMPORTS, str(tiny_model), str(image)], cwd=ROOT,
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]", "imported at run time but excluded in build.spec"


@pytest.fixture(scope="module")
def bundle(bundled_model) -> Path:
    """``make package`` from scratch (stale dist/ from another model or code never counts)."""
    for stale in (APP_DIR, ZIP):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    make_bundle("package", bundled_model, BUILD_TIMEOUT_S)
    return APP_DIR


@pytest.fixture(scope="module")
def unzipped(bundle, tmp_path_factory) -> Path:
    """The zip a user is handed, unpacked elsewhere with Info-ZIP (links restored as links)."""
    target = tmp_path_factory.mktemp("laptop")
    subprocess.run(["unzip", "-q", str(ZIP), "-d", str(target)], check=True, timeout=300)
    return target / APP


def _run(app_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(app_dir / APP), *args], capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        env=env or os.environ.copy(),
    )


@pytest.mark.slow
def test_unzipped_copy_passes_its_self_test(unzipped, x_display, tmp_path):
    env = dict(os.environ, CXR_LOG_DIR=str(tmp_path / "logs"))
    result = _run(unzipped, "--self-test", env=env)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr[-3000:]}"
    assert len(lines) == 1 and lines[0].startswith("self-test OK"), result.stdout
    assert "matches build" in lines[0] and "drag-and-drop on" in lines[0]
    assert "Kermany" in lines[0] and "CC BY 4.0" in lines[0] and "-> PNEUMONIA p=" in lines[0]
    assert "report written (" in lines[0]  # reportlab is in the bundle and works
    assert (tmp_path / "logs" / "cxr-pneumonia.log").is_file()  # the user's log folder
    assert not list(unzipped.rglob("*.log"))  # nothing written beside the executable


@pytest.mark.slow
def test_self_test_fails_loudly_on_a_damaged_model(bundle, tmp_path):
    damaged = tmp_path / APP
    shutil.copytree(bundle, damaged, symlinks=True, copy_function=os.link)  # hard links: fast
    model = damaged / "_internal" / "assets" / "model.pt"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.unlink()  # break the hard link before writing, so the bundle itself stays intact
    model.write_bytes(bytes(data))
    result = _run(damaged, "--self-test", env=dict(os.environ, CXR_LOG_DIR=str(tmp_path)))
    assert result.returncode != 0
    assert result.stdout.startswith("self-test FAILED:")
    assert "checksum does not match" in result.stdout


def _predict_in_bundle_and_source(bundle: Path, model: Path, sample: Path) -> tuple[dict, dict]:
    """`predict --json` on one file, by the bundled executable and from source (same model).

    Exit status 1 is fine where the scope check withholds the verdict (a synthetic DICOM is no
    chest X-ray): the file was read, and P is still given to compare."""
    frozen = _run(bundle, "predict", "--json", str(sample))
    source = subprocess.run(
        [sys.executable, "-m", "desktop", "predict", "--json", "--model", str(model), str(sample)],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )
    for run in (frozen, source):
        assert run.returncode in (0, 1) and run.stdout, run.stderr[-3000:]
        row = json.loads(run.stdout)
        assert run.returncode == 0 or row["scope"] == "not_chest_xray", run.stderr[-3000:]
    ours, theirs = json.loads(frozen.stdout), json.loads(source.stdout)
    assert ours["scope"] == theirs["scope"]
    return ours, theirs


@pytest.mark.slow
@pytest.mark.parametrize("label", ["NORMAL", "PNEUMONIA"])
def test_bundled_predict_matches_source(bundle, bundled_model, label):
    folder = require_shared(SHARED_DATA / "fullres_samples" / label)
    sample = max(sorted(folder.iterdir()), key=lambda p: p.stat().st_size)  # full resolution
    ours, theirs = _predict_in_bundle_and_source(bundle, bundled_model, sample)
    assert ours["error"] is None and ours["verdict"] == theirs["verdict"]
    assert ours["p_pneumonia"] == pytest.approx(theirs["p_pneumonia"], abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("syntax",
                         ["JPEGLosslessProcess14_1", "JPEGLSLossless", "JPEG2000Lossless"])
def test_bundle_reads_compressed_dicom_as_a_pacs_exports_it(bundle, bundled_model, tmp_path,
                                                            syntax):
    from tests.support.dicom_codecs import gdcm_compressed_bytes
    from tests.support.fuzz_corpus import dicom_16bit, dicom_bytes

    sample = tmp_path / "exam.dcm"
    sample.write_bytes(gdcm_compressed_bytes(dicom_bytes(dicom_16bit(3, side=320)), syntax))
    ours, theirs = _predict_in_bundle_and_source(bundle, bundled_model, sample)
    assert ours["error"] is None and theirs["error"] is None, (ours, theirs)
    assert ours["p_pneumonia"] == pytest.approx(theirs["p_pneumonia"], abs=1e-4)


@pytest.mark.slow
def test_bundle_reads_12_bit_jpeg_dicom_with_only_the_codecs_it_needs(bundle, bundled_model,
                                                                       tmp_path):
    """imagecodecs loads its codecs by name; build.spec names the two the reader uses."""
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGExtended12Bit

    from tests.support.dicom_codecs import jpeg_12bit_codestream
    from tests.support.fuzz_corpus import dicom_16bit, dicom_bytes

    pixels = dicom_16bit(3, side=320)
    sample = tmp_path / "cr.dcm"
    sample.write_bytes(dicom_bytes(pixels, transfer_syntax=JPEGExtended12Bit,
                                   pixel_data=encapsulate([jpeg_12bit_codestream(pixels)]),
                                   extra={"BitsStored": 12, "HighBit": 11}))
    ours, theirs = _predict_in_bundle_and_source(bundle, bundled_model, sample)
    assert ours["error"] is None and theirs["error"] is None, (ours, theirs)
    assert ours["p_pneumonia"] == pytest.approx(theirs["p_pneumonia"], abs=1e-4)
    codecs = {p.name.split(".")[0] for p in (bundle / "_internal" / "imagecodecs").glob("_*.so")}
    assert {"_jpegls", "_jpeg2k"} <= codecs and codecs & {"_jpeg8", "_jpeg"}, codecs
    assert len(codecs) < 9, codecs  # not all ~60 of them


@pytest.mark.slow
def test_bundle_holds_what_the_app_needs(bundle, bundled_model):
    assets = bundle / "_internal" / "assets"
    digest = hashlib.sha256(bundled_model.read_bytes()).hexdigest()
    assert hashlib.sha256((assets / "model.pt").read_bytes()).hexdigest() == digest
    assert (assets / "model.pt.sha256").read_text().split()[0] == digest
    assert (assets / "icon.png").is_file() and (assets / "selftest.jpeg").is_file()
    shipped = json.loads((assets / "selftest.json").read_text())
    assert "CC BY 4.0" in shipped["source"] and shipped["scope"] != "not_chest_xray"
    for po in (ROOT / "translations").glob("*/LC_MESSAGES/cxr.po"):
        assert (bundle / "_internal" / po.relative_to(ROOT).with_suffix(".mo")).is_file(), po
    assert list((bundle / "_internal" / "tkinterdnd2").rglob("libtkdnd*"))
    entry = (bundle / f"{APP}.desktop").read_text()
    assert "Exec=" in entry and "%F" in entry and "Terminal=false" in entry
    with zipfile.ZipFile(ZIP) as archive:
        assert f"{APP}/{APP}" in archive.namelist()


@pytest.mark.slow
def test_bundle_stays_within_500_mib_without_decoders_it_never_calls(bundle):
    """Issue 33: highdicom's tables came in, GDCM and pyjpegls went out (the reader names its
    decoders: dicom_decoders.plugin_for), and the tables ship without their indentation. The
    limit is in MiB, as `du -h` and the build log count (the bundle before issue 33 was 481 MiB,
    505 MB); docs/benchmarks.md gives both."""
    files = [path for path in bundle.rglob("*") if path.is_file() and not path.is_symlink()]
    assert not [p.name for p in files if "gdcm" in p.name.lower() or "_charls" in p.name.lower()]
    table = bundle / "_internal" / "highdicom" / "_standard" / "module_attribute_map.json"
    data = table.read_bytes()
    assert b"\n" not in data and "patient" in json.loads(data)  # compact, and the same JSON
    size = sum(path.stat().st_size for path in files)
    assert size <= 500 * 2**20, f"bundle {size / 2**20:.0f} MiB ({size / 1e6:.1f} MB)"


@pytest.mark.slow
def test_bundle_leaves_out_training_tests_and_cuda(bundle):
    viewer = ROOT / ".venv-package" / "bin" / "pyi-archive_viewer"
    listing = subprocess.run(
        [str(viewer), "-l", "-r", "-b", str(bundle / APP)], capture_output=True, text=True,
        check=True, timeout=RUN_TIMEOUT_S,
    ).stdout
    modules = {line.strip().strip("'") for line in listing.splitlines()}
    assert "desktop.ui.app" in modules and "torch.jit" in modules  # the listing is what it seems
    unwanted = ("training", "tests", "torchvision", "torch._dynamo", "torch._inductor", "sympy")
    leaked = sorted(m for m in modules for u in unwanted if m == u or m.startswith(u + "."))
    assert not leaked
    files = [p.name for p in bundle.rglob("*")]
    assert not [name for name in files if "cuda" in name.lower() or "cudnn" in name.lower()]
    assert not [name for name in files if name.endswith((".h", ".a", ".lib"))]
