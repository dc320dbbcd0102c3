"""A refer band read from a card or a profile is checked field by field, never applied half."""

from __future__ import annotations

import math

import pytest

from desktop.referband import ReferBand
from desktop.stats import DECIDED, certify_band

GOOD = {"t_low": 0.2, "t_high": 0.7, "guarantee": "class", "low_limit": 0.05,
        "high_limit": 0.05, "confidence": 0.95, "n_normal": 300, "n_pneumonia": 400}


def test_a_band_round_trips_through_its_dict():
    band = ReferBand.from_dict(GOOD)
    assert ReferBand.from_dict(band.as_dict()) == band
    assert (band.t_low, band.t_high, band.n_normal) == (0.2, 0.7, 300)


@pytest.mark.parametrize("change", [
    {"t_low": 0.8},  # above t_high
    {"t_low": math.nan}, {"t_high": math.inf}, {"t_high": 1.5}, {"t_low": -0.1},
    {"t_low": True}, {"t_high": "0.7"}, {"t_low": None},
    {"guarantee": "everything"}, {"low_limit": 0.0}, {"high_limit": 1.0},
    {"confidence": 2}, {"n_normal": -3}, {"n_pneumonia": 1.5}, {"referred": 7},
])
def test_a_tampered_band_is_refused(change):
    with pytest.raises(ValueError):
        ReferBand.from_dict({**GOOD, **change})


def test_a_band_is_not_a_table_is_refused():
    for data in (None, [0.2, 0.7], "0.2-0.7"):
        with pytest.raises(ValueError):
            ReferBand.from_dict(data)


def test_a_certificate_becomes_a_band():
    p = [0.01 * i for i in range(100)] * 4
    y = [int(i >= 50) for i in range(100)] * 4
    cert = certify_band(p, y, guarantee=DECIDED, low_limit=0.1, high_limit=0.1)
    band = ReferBand.from_certificate(cert, referred=0.1, fitted_on="validation")
    assert band.guarantee == DECIDED and band.t_low <= band.t_high
    assert ReferBand.from_dict(band.as_dict()) == band
