"""One vocabulary of outcomes and the one rule that decides them."""

from __future__ import annotations

import json

from desktop.outcomes import DECISIONS, ORDER, Outcome, decide, parse
from desktop.referband import ReferBand


def test_the_band_decides_normal_below_refer_between_pneumonia_at_or_above():
    band = ReferBand(t_low=0.2, t_high=0.7)
    assert [decide(p, 0.5, band) for p in (0.0, 0.1999, 0.2, 0.5, 0.6999, 0.7, 1.0)] == [
        "NORMAL", "NORMAL", "REFER", "REFER", "REFER", "PNEUMONIA", "PNEUMONIA"]
    # without a band the single threshold decides, PNEUMONIA at or above it
    assert [decide(p, 0.5) for p in (0.4999, 0.5)] == [Outcome.NORMAL, Outcome.PNEUMONIA]
    # a band of width 0 refers nothing
    assert decide(0.3, 0.5, ReferBand(t_low=0.3, t_high=0.3)) is Outcome.PNEUMONIA


def test_outcomes_are_the_strings_files_hold():
    assert [str(o) for o in ORDER] == ["PNEUMONIA", "NORMAL", "REFER", "withheld", "error"]
    assert DECISIONS == (Outcome.PNEUMONIA, Outcome.NORMAL, Outcome.REFER)
    assert json.dumps({"decision": Outcome.REFER}) == '{"decision": "REFER"}'
    assert f"{Outcome.NORMAL}" == "NORMAL" and {"NORMAL": 1}[Outcome.NORMAL] == 1
    assert parse("REFER") is Outcome.REFER and parse("maybe") is None and parse(None) is None
    assert Outcome.REFER.is_decision and not Outcome.REFER.is_verdict
    assert not Outcome.WITHHELD.is_decision
