"""A site profile is a file anyone can edit or damage (issue 29 items 1, 2, 10): every value is
checked before any is used, and a profile that is not valid is refused whole with the one "could
not be read" sentence, by ``predict``, the window and ``history stats`` alike; never clamped,
never half-applied. A fuzz test feeds ``predict --profile`` mutations of a valid profile."""

from __future__ import annotations

import copy
import json
import math
import os
import random
import threading
from pathlib import Path

import pytest

from desktop.cases.profile import ProfileError, load_profile, validate
from desktop.engine.site import MAX_BIAS, MAX_SLOPE, MIN_SLOPE, recalibrated

SHA = "ab" * 32
UNREADABLE = "could not be read, so it is not applied"


def valid() -> dict:
    """A profile as ``calibrate`` writes it (120 NORMAL + 30 PNEUMONIA)."""
    rates = {"sensitivity": [0.966667, 0.827831, 0.999156],
             "specificity": [0.975, 0.928, 0.995], "flagged": [0.213333, 0.15, 0.29]}
    return {
        "format": "cxr-site-profile", "version": 1, "name": "clinic-A",
        "created": "2026-12-07T01:00:00Z", "model_sha256": SHA, "model_version": "1",
        "source": "folder", "cases": {"NORMAL": 120, "PNEUMONIA": 30, "out_of_scope": 0},
        "platt": {"slope": 0.86, "bias": -2.26}, "threshold": 0.4878,
        "goal": {"kind": "balanced", "target_sensitivity": None},
        "figures": {"auc": 0.99, "ece_before": 0.05, "ece_after_cross_validated": 0.03,
                    "shipped": {"threshold": 0.7092, **rates},
                    "proposed": {"threshold": 0.4878, **rates}},
    }


def test_a_valid_profile_is_read_with_its_words():
    profile = validate(valid())
    site = profile.calibration
    assert (site.slope, site.bias, site.threshold) == (0.86, -2.26, 0.4878)
    assert site.prevalence == pytest.approx(0.2)
    assert site.sensitivity == (0.966667, 0.827831, 0.999156)


def _with(path: str, value):
    raw = valid()
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[last] = value
    return raw


@pytest.mark.parametrize("path, value", [
    ("platt.slope", math.nan), ("platt.bias", math.nan), ("threshold", math.nan),
    ("threshold", math.inf), ("threshold", 1.5), ("threshold", True), ("threshold", -0.5),
    ("threshold", "0.05"), ("threshold", 0), ("threshold", 1), ("platt.slope", 0),
    ("platt.slope", -1), ("platt.slope", 1e-17), ("platt.slope", True), ("platt.bias", 1e6),
    ("platt.bias", -1e308), ("platt.bias", 10 ** 400), ("platt.slope", "1"),
    ("platt", [1, 2]), ("name", ""), ("name", 7), ("name", "clinic\x1b]0;owned\x07"),
    ("model_sha256", "x"), ("version", "1"), ("version", 99), ("cases.NORMAL", -1),
    ("cases.PNEUMONIA", 30.5), ("figures.proposed.threshold", 0.5),
    ("figures.proposed.sensitivity", [0.5, 0.9, 1.0]), ("figures.proposed.flagged", "x"),
    ("figures.proposed.specificity", [0.5, 0.4]), ("figures.shipped", [1]),
    ("figures.auc", math.nan), ("figures", "none"), ("goal.kind", "guess"),
    ("goal.target_sensitivity", 1.2),
])
def test_a_value_out_of_range_or_of_the_wrong_type_refuses_the_whole_profile(tmp_path, path,
                                                                            value):
    file = tmp_path / "site.json"
    file.write_text(json.dumps(_with(path, value)))  # NaN and Infinity written as JSON5 does
    with pytest.raises(ProfileError) as refused:
        load_profile(file)
    assert UNREADABLE in refused.value.user_message()


def _finishes(function, *args, timeout: float = 10.0):
    """Run ``function`` on a thread; what it returned or raised, or fail if it hangs."""
    outcome: list = []

    def run():
        try:
            outcome.append(("returned", function(*args)))
        except BaseException as exc:  # noqa: BLE001 - what it raised is the answer
            outcome.append(("raised", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert outcome, f"{function.__name__} still running after {timeout} s"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_a_fifo_a_device_a_folder_a_huge_file_and_deep_nesting_are_refused_at_once(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(dict(valid(), padding="x" * 400_000)))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    deep_object = tmp_path / "deep-object.json"
    deep_object.write_text('{"a":' * 30_000 + "1" + "}" * 30_000)
    for path in (fifo, zero, tmp_path, huge, deep, deep_object, tmp_path / "missing.json"):
        kind, outcome = _finishes(load_profile, path)
        assert kind == "raised" and isinstance(outcome, ProfileError), (path.name, outcome)
        assert UNREADABLE in outcome.user_message()


def test_history_stats_says_the_sentence_for_malformed_figures(tmp_path, capsys,
                                                               english_and_own_logging):
    from desktop.cases.store import HistoryStore
    from desktop.cli_cases import history_main

    HistoryStore.open(tmp_path / "h.db").close()
    bad = tmp_path / "site.json"
    bad.write_text(json.dumps(_with("figures.proposed.flagged", {"low": "x"})))
    assert history_main(["--db", str(tmp_path / "h.db"), "stats", "--profile", str(bad)]) == 0
    err = capsys.readouterr().err
    assert UNREADABLE in err and "Traceback" not in err


# --- the fuzz test ---------------------------------------------------------------------------

WILD = [math.nan, math.inf, -math.inf, 1e308, -1e308, 10 ** 30, -1, 0, 1, 0.5, 1.5, 1e-17,
        True, False, None, "0.05", "", [], {}, [0.5, 0.4, 0.6], {"slope": 1}, "NaN"]


def _leaves(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,), value
            yield from _leaves(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield prefix + (index,), value


def mutate(raw: dict, rng: random.Random) -> str:
    """The text of ``raw`` with one to three random changes: a value replaced by a wild one or
    a nearby number, a key removed, a value nested deep, or the text cut short."""
    raw = copy.deepcopy(raw)
    for _ in range(rng.randint(1, 3)):
        path, _value = rng.choice(list(_leaves(raw)))
        *parents, last = path
        node = raw
        for key in parents:
            node = node[key]
        action = rng.random()
        if action < 0.5:
            node[last] = rng.choice(WILD)
        elif action < 0.75:
            node[last] = rng.uniform(-3, 3) * rng.choice([1, 1e-3, 10, 1e6])
        elif action < 0.88 and isinstance(node, dict):
            del node[last]
        else:
            deep = rng.choice([10, 1000, 100_000])
            node[last] = json.loads("[" * min(deep, 500) + "]" * min(deep, 500))
    text = json.dumps(raw)
    return text[: rng.randrange(len(text))] if rng.random() < 0.05 else text


def _strict_json(line: str) -> dict:
    def no_constant(name):
        raise AssertionError(f"{name} in --json output: not JSON")
    return json.loads(line, parse_constant=no_constant)


def _check(text: str, rows: list[dict], err: str, plain: list[dict]) -> str:
    """Refused with the sentence (the model's own P, no profile named), or applied with
    verdicts that follow from the profile's numbers; which it was."""
    assert "Traceback" not in err, err
    if UNREADABLE in err:
        assert all(r["profile"] is None for r in rows)
        assert [r["p_pneumonia"] for r in rows] == [r["p_pneumonia"] for r in plain]
        return "refused"
    raw = json.loads(text)  # it was applied: it is a valid profile, every number in range
    slope, bias, threshold = raw["platt"]["slope"], raw["platt"]["bias"], raw["threshold"]
    assert MIN_SLOPE <= slope <= MAX_SLOPE and abs(bias) <= MAX_BIAS and 0 < threshold < 1
    for row, before in zip(rows, plain, strict=True):
        assert row["profile"] == raw["name"] and row["threshold"] == threshold
        assert row["p_pneumonia"] == pytest.approx(
            recalibrated(before["p_pneumonia"], slope, bias), abs=2e-6)
        assert row["verdict"] == ("PNEUMONIA" if row["p_pneumonia"] >= threshold else "NORMAL")
    return "applied"


@pytest.fixture
def two_images(tiny_model, tmp_path):
    from tests.desktop.cases.test_recording import images

    images(tmp_path / "in", 2)
    sha = Path(str(tiny_model) + ".sha256").read_text().split()[0]
    return tmp_path / "in", dict(valid(), model_sha256=sha)


def test_predict_refuses_or_obeys_every_mutation_of_a_valid_profile(tiny_model, two_images,
                                                                    tmp_path, capsys,
                                                                    english_and_own_logging):
    """``predict --json --profile`` in-process on 120 mutated profiles: the model is loaded
    once, and each profile goes through predict's own argument parsing, ``_apply_profile``,
    classification and JSON lines; never a traceback, never NaN in the output."""
    from desktop import cli
    from desktop.cases.recorder import classified_rows
    from desktop.engine.inference import Engine
    from desktop.engine.session import Session
    from desktop.engine.threshold import ThresholdPolicy

    folder, base = two_images
    engine = Engine.load(tiny_model)
    file = tmp_path / "site.json"

    def predict(*extra):
        args = cli.build_parser().parse_args([str(folder), "--json", "--no-history", *extra])
        session = Session(ThresholdPolicy.from_card(engine.metadata))
        cli._apply_profile(args, session, engine.sha256)
        files = sorted(folder.iterdir())
        lines = [json.dumps(row.as_json()) for row, _ in classified_rows(
            engine, files, session, None, model_version=None, origin="predict")]
        return [_strict_json(line) for line in lines], capsys.readouterr().err

    plain, _ = predict("--no-profile")
    rng = random.Random(20261207)
    outcomes = {"refused": 0, "applied": 0}
    for _case in range(120):
        text = mutate(base, rng)
        file.write_text(text)
        outcomes[_check(text, *predict("--profile", str(file)), plain)] += 1
    assert outcomes["refused"] > 60 and outcomes["applied"] > 5, outcomes


def test_predict_main_refuses_a_nan_profile_and_applies_a_valid_one(tiny_model, two_images,
                                                                   tmp_path, capsys,
                                                                   english_and_own_logging):
    """The whole command, in-process: NaN in the profile is refused (before: applied, every
    verdict NORMAL and ``NaN`` in the JSON), the valid profile applied."""
    from desktop.cli import main

    folder, base = two_images

    def predict(*extra):
        code = main([str(folder), "--model", str(tiny_model), "--json", "--no-history", *extra])
        out, err = capsys.readouterr()
        assert code == 0
        return [_strict_json(line) for line in out.splitlines()], err

    plain, _ = predict("--no-profile")
    file = tmp_path / "site.json"
    for text, expected in ((json.dumps(_with("platt.slope", math.nan)), "refused"),
                           (json.dumps(_with("threshold", math.inf)), "refused"),
                           (json.dumps(dict(base)), "applied")):
        file.write_text(text.replace(SHA, base["model_sha256"]))
        assert _check(file.read_text(), *predict("--profile", str(file)), plain) == expected


def test_the_window_refuses_an_invalid_profile_whole_and_says_so(tmp_path):
    """Before: a threshold of NaN or Infinity half-applied the profile in the window (its P
    judged against the shipped threshold, nothing said)."""
    from desktop.engine.results import Result
    from desktop.settings import Settings
    from desktop.ui import worker as messages
    from desktop.ui.state import WindowState
    from tests.desktop.ui.test_state import RecordingView, RecordingWorker, run_batch
    from tests.support.model_fixtures import sample_metadata

    view = RecordingView()
    state = WindowState(Settings(language="en"), RecordingWorker(), view, save=lambda s: None)
    view.state = state
    state.handle(messages.ModelReady(sample_metadata(), SHA))
    run_batch(state, [Result(Path("/ward/a.png"), 0.8, None, fingerprint="f")])
    shipped = (state.session.threshold, state.session.policy.preset)
    for path, value in (("threshold", math.inf), ("threshold", math.nan), ("platt.slope", -1)):
        file = tmp_path / "site.json"
        file.write_text(json.dumps(_with(path, value)))
        state.apply_profile(file)
        assert state.session.site is None
        assert (state.session.threshold, state.session.policy.preset) == shipped
        assert next(iter(state.session.results.values())).p_pneumonia == 0.8
        assert UNREADABLE in view.status
    state.apply_profile(_write(tmp_path / "good.json", valid()))
    assert state.session.site is not None and "“clinic-A” in force" in view.status


def _write(path: Path, raw: dict) -> Path:
    path.write_text(json.dumps(raw))
    return path
