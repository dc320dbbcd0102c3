"""A site profile's refer band (issue 31 item 2): ``calibrate`` certifies it on the site's
recalibrated P, profile format version 2 keeps it, a version-1 profile still loads with no band
and says so, and a tampered or inconsistent band refuses the whole profile, never half-applied.
When the cases are too few to certify the guarantee, the study says how many more of each class
are needed, as the 30-per-class rule does."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from desktop.cases.calibration import DEFAULT_REFER, ReferGoal, calibrate
from desktop.cases.profile import (
    VERSION,
    ProfileError,
    apply_profile,
    load_profile,
    profile_from_study,
    save_profile,
)
from desktop.engine.results import Result
from desktop.engine.session import Session
from desktop.engine.site import recalibrated
from desktop.engine.threshold import ThresholdPolicy
from desktop.i18n import set_language
from desktop.outcomes import Outcome
from desktop.stats import CLASS, DECIDED, zero_error_cases
from tests.desktop.cases.test_profile import SHA, UNREADABLE, valid

pytestmark = pytest.mark.usefixtures("english_and_own_logging")


def separable_site(n: int = 600, spread: float = 2.0, seed: int = 0):
    """A site where the model separates the classes fairly well (a band refers about a fifth
    of it at 5%/5%): half NORMAL, half PNEUMONIA."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2, int), np.ones(n - n // 2, int)]
    z = rng.normal(np.where(y == 1, spread, -spread), 1.6)
    return 1 / (1 + np.exp(-z)), y


def v2_profile(tmp_path, **calibrate_args) -> tuple[dict, object]:
    p, y = separable_site()
    study = calibrate(p, y, shipped_threshold=0.5, **calibrate_args)
    raw = profile_from_study(study, name="clinic-B", model_sha256=SHA, model_version="1",
                             source="folder")
    return raw, study


def _session_with(path, card_band=None) -> tuple[Session, object]:
    session = Session(ThresholdPolicy([], None, 0.5, band=card_band))
    return session, apply_profile(session, path, SHA)


def test_a_version_1_profile_still_loads_with_no_band_and_says_so(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(valid()))
    profile = load_profile(path)
    assert profile.band is None and profile.calibration.band is None
    session, applied = _session_with(path)
    assert session.site is not None and session.band is None
    assert applied.notice.user_message() == (
        "The site profile clinic-A was written by an older version and has no refer band, so "
        "its threshold decides every image; calibrate again to have the uncertain ones "
        "referred to a human reader.")
    set_language("es")
    assert "banda de derivación" in applied.notice.user_message()


def test_a_version_2_profile_round_trips_with_its_band_and_the_session_refers_by_it(tmp_path):
    raw, study = v2_profile(tmp_path)
    assert raw["version"] == VERSION == 2 and study.refer == DEFAULT_REFER
    band = study.band.band
    assert band.guarantee == CLASS and (band.low_limit, band.high_limit) == (0.05, 0.05)
    assert 0 < band.t_low < band.t_high < 1 and band.low_bound <= 0.05 >= band.high_bound
    path = tmp_path / "site.json"
    save_profile(path, raw)
    profile = load_profile(path)
    assert profile.band == band and profile.notice is None
    assert profile.figures["band"]["referred"] == study.band.referred.as_list()
    session, applied = _session_with(path)
    assert applied.notice is None and session.band == band
    inside = (band.t_low + band.t_high) / 2
    for p, expected in ((band.t_low / 2, Outcome.NORMAL), (inside, Outcome.REFER),
                        ((band.t_high + 1) / 2, Outcome.PNEUMONIA)):
        # a model P whose recalibrated P is ``p``: the band judges the site's P
        logit = math.log(p / (1 - p))
        z = (logit - profile.calibration.bias) / profile.calibration.slope
        result = session.add(Result(path=tmp_path / f"{p}.png", p_pneumonia=1 / (1 + math.exp(-z))))
        assert result.p_pneumonia == pytest.approx(p, abs=1e-9)
        assert session.verdict(result) is expected


def test_the_band_figures_are_what_the_band_does_on_the_site_p(tmp_path):
    p, y = separable_site()
    study = calibrate(p, y, shipped_threshold=0.5)
    band, figures = study.band.band, study.band
    p_site = np.asarray(recalibrated(p, study.slope, study.bias))
    normal, pneumonia = p_site < band.t_low, p_site >= band.t_high
    assert figures.referred.k == int((~normal & ~pneumonia).sum())
    assert figures.missed.k == int((normal & (y == 1)).sum()) and figures.missed.n == 300
    assert figures.wrong_decided.n == int((normal | pneumonia).sum())
    assert figures.missed.value <= 0.05 and figures.false_alarms.value <= 0.05
    coverage, error = zip(*study.risk_coverage, strict=True)
    assert coverage[0] == 1.0 and list(coverage) == sorted(coverage, reverse=True)
    accuracy = (study.proposed.sensitivity.k + study.proposed.specificity.k) / 600
    assert error[0] == pytest.approx(1 - accuracy)
    assert error[-1] <= error[0]  # deciding only the surest leaves fewer errors


def _tampered(raw: dict, edit) -> dict:
    raw = copy.deepcopy(raw)
    edit(raw)
    return raw


TAMPERINGS = {
    "t_low above t_high": lambda r: r["refer_band"].update(t_low=0.9, t_high=0.2),
    "t_low negative": lambda r: r["refer_band"].update(t_low=-0.1),
    "t_high above 1": lambda r: r["refer_band"].update(t_high=1.5),
    "t_high a string": lambda r: r["refer_band"].update(t_high="0.9"),
    "t_low missing": lambda r: r["refer_band"].pop("t_low"),
    "unknown guarantee": lambda r: r["refer_band"].update(guarantee="always right"),
    "limit of 0": lambda r: r["refer_band"].update(low_limit=0),
    "certified on other cases": lambda r: r["refer_band"].update(n_normal=5),
    "not an object": lambda r: r.update(refer_band=[0.2, 0.8]),
    "a band in a version-1 profile": lambda r: r.update(version=1),
    "figures without a band": lambda r: r.update(refer_band=None),
    "a referred share out of its interval": lambda r: r["figures"]["band"].update(
        referred=[0.5, 0.1, 0.2]),
    "control characters": lambda r: r["refer_band"].update(fitted_on="site\x1b[2J"),
}


@pytest.mark.parametrize("what", sorted(TAMPERINGS))
def test_a_tampered_or_inconsistent_band_refuses_the_whole_profile(tmp_path, what):
    raw, _study = v2_profile(tmp_path)
    path = tmp_path / "site.json"
    path.write_text(json.dumps(raw))
    assert load_profile(path).band is not None  # untouched, it is applied with its band
    path.write_text(json.dumps(_tampered(raw, TAMPERINGS[what])))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert UNREADABLE in info.value.user_message()
    session, applied = _session_with(path)
    assert applied.profile is None and UNREADABLE in applied.problem.user_message()
    assert session.site is None and session.band is None and session.policy.points == []


def test_nan_in_the_band_refuses_the_profile(tmp_path):
    raw, _study = v2_profile(tmp_path)
    path = tmp_path / "site.json"
    path.write_text(json.dumps(raw).replace(f'"t_low": {raw["refer_band"]["t_low"]}',
                                            '"t_low": NaN'))
    assert "NaN" in path.read_text()
    with pytest.raises(ProfileError):
        load_profile(path)


def test_too_few_cases_for_the_guarantee_say_how_many_more_of_each_and_keep_the_threshold(
        tmp_path):
    p, y = separable_site(200)
    study = calibrate(p, y, shipped_threshold=0.5, refer=ReferGoal(CLASS, 0.01, 0.02))
    assert study.band is None
    need_low, need_high = zero_error_cases(0.01, 0.025), zero_error_cases(0.02, 0.025)
    assert study.band_problem.user_message() == (
        "No refer band can be certified for this guarantee on these cases: add "
        f"{need_high - 100} more NORMAL and {need_low - 100} more PNEUMONIA, or choose a looser "
        "guarantee; the profile keeps the single threshold.")
    set_language("pt_BR")
    assert f"mais {need_low - 100} de PNEUMONIA" in study.band_problem.user_message()
    set_language("en")
    raw = profile_from_study(study, name="small", model_sha256=SHA, model_version="1",
                             source="folder")
    path = tmp_path / "small.json"
    save_profile(path, raw)
    assert raw["refer_band"] is None and load_profile(path).band is None
    assert load_profile(path).notice is None  # version 2: no band because none was certified


def test_a_guarantee_more_images_would_not_reach_says_choose_a_looser_one():
    p, y = separable_site(600, spread=1.0)  # 1 in 5 wrong however the images are split
    study = calibrate(p, y, shipped_threshold=0.5, refer=ReferGoal(DECIDED, 0.02, 0.02))
    assert study.band is None
    assert study.band_problem.user_message().startswith(
        "No refer band can keep the errors within this guarantee on cases like these, and more "
        "of them would not help; choose a looser guarantee.")


def test_no_refer_writes_a_version_2_profile_without_a_band(tmp_path):
    raw, study = v2_profile(tmp_path, refer=None)
    assert study.band is None and study.band_problem is None and raw["refer_band"] is None
    path = tmp_path / "site.json"
    save_profile(path, raw)
    session, applied = _session_with(path)
    assert session.band is None and applied.notice is None
