"""The refer-band check (issue 31's "Done when") splits the test split by patient: no patient's
images on both sides, every image on one, each half about half of each class."""

from benchmarks.refer_band import halves, patient
from tests.conftest import SHARED_DATA, require_shared


def test_patients_are_read_from_every_naming_of_the_split():
    assert patient("person1619_virus_2806.jpeg") == patient("person1619_bacteria_4261.jpeg")
    assert patient("IM-0101-0001.jpeg") == patient("IM-0101-0002.jpeg") != patient(
        "NORMAL2-IM-0101-0001.jpeg")


def test_the_halves_share_no_patient_and_hold_every_image():
    split = require_shared(SHARED_DATA / "chest_xray_224" / "test")
    a, b = halves(split, seed=0)
    for label in ("NORMAL", "PNEUMONIA"):
        every = sorted(p.name for p in (split / label).iterdir())
        assert sorted(f.name for f in a[label] + b[label]) == every
        assert abs(len(a[label]) - len(b[label])) <= 0.1 * len(every)
        assert not {patient(f.name) for f in a[label]} & {patient(f.name) for f in b[label]}
