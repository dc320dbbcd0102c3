"""Data folders: patient-level validation split and clear messages for bad folders."""

import logging
from pathlib import Path

import pytest
from numpy.random import default_rng

from tests.conftest import SHARED_DATA, require_shared
from tests.support.training_synth import make_split, write_image
from training.data import DataError, list_split, load_split, patient_id, patient_split, train_val


@pytest.mark.parametrize("name, expected", [
    ("person1000_bacteria_2931.jpeg", "person1000"),
    ("person1000_virus_1681.jpeg", "person1000"),
    ("IM-0115-0001.jpeg", "IM-115"),
    ("NORMAL2-IM-0115-0002.jpeg", "IM-115"),
    ("scan_of_someone.png", "file:scan_of_someone.png"),
])
def test_patient_id_follows_the_kermany_names(name, expected):
    assert patient_id(Path(name)) == expected


def _names():
    paths, labels = [], []
    for p in range(60):
        for shot in range(1 + p % 3):
            paths.append(Path(f"person{p}_virus_{p * 10 + shot}.jpeg"))
            labels.append(1)
            paths.append(Path(f"NORMAL2-IM-{p:04d}-{shot:04d}.jpeg"))
            labels.append(0)
    paths += [Path(f"odd_{i}.png") for i in range(10)]
    labels += [0] * 10
    return paths, labels


def test_no_patient_is_on_both_sides_of_the_split():
    paths, labels = _names()
    train_idx, val_idx = patient_split(paths, labels, val_fraction=0.2, seed=3)
    train_patients = {patient_id(paths[i]) for i in train_idx}
    val_patients = {patient_id(paths[i]) for i in val_idx}
    assert train_patients.isdisjoint(val_patients)
    assert sorted(train_idx + val_idx) == list(range(len(paths)))
    # about 20% of each class's patients, both classes present in validation
    assert {labels[i] for i in val_idx} == {0, 1}
    assert 0.12 < len(val_patients) / (len(train_patients) + len(val_patients)) < 0.28


def test_split_is_reproducible_and_depends_on_the_seed():
    paths, labels = _names()
    assert patient_split(paths, labels, 0.2, 1) == patient_split(paths, labels, 0.2, 1)
    assert patient_split(paths, labels, 0.2, 1) != patient_split(paths, labels, 0.2, 2)


def test_real_training_set_split_keeps_patients_whole():
    root = require_shared(SHARED_DATA / "chest_xray_224" / "train")
    paths, labels, _ = list_split(root)
    train_idx, val_idx = patient_split(paths, labels, 0.1, 0)
    assert {patient_id(paths[i]) for i in train_idx}.isdisjoint(
        {patient_id(paths[i]) for i in val_idx})
    assert 0.07 < len(val_idx) / len(paths) < 0.13


def test_missing_class_folder_is_named(tmp_path):
    write_image(tmp_path / "train" / "NORMAL" / "IM-0001-0001.jpeg", 0, default_rng(0))
    with pytest.raises(DataError, match=r"missing class folder .*PNEUMONIA"):
        list_split(tmp_path / "train")


def test_empty_class_folder_is_named(tmp_path):
    make_split(tmp_path / "train", 2)
    for f in (tmp_path / "train" / "PNEUMONIA").iterdir():
        f.unlink()
    (tmp_path / "train" / "PNEUMONIA" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"PNEUMONIA holds no images"):
        list_split(tmp_path / "train")


def test_missing_data_folder_says_what_is_expected(tmp_path):
    with pytest.raises(DataError, match="NORMAL and .*PNEUMONIA"):
        list_split(tmp_path / "nowhere")


def test_unreadable_files_are_skipped_named_and_counted(tmp_path, caplog):
    root = make_split(tmp_path / "train", 3)
    (root / "NORMAL" / "IM-0100-0001.jpeg").write_bytes(b"\xff\xd8 truncated jpeg")
    (root / "PNEUMONIA" / "person9_virus_1.png").write_bytes(b"")
    (root / "PNEUMONIA" / "readme.txt").write_text("ignored: not an image suffix")
    with caplog.at_level(logging.WARNING):
        split = load_split(root, progress=False)
    assert len(split) == 6 and split.counts() == {"NORMAL": 3, "PNEUMONIA": 3}
    assert split.images.shape == (6, 1, 224, 224)
    assert "skipped 2 unreadable file(s) of 8" in caplog.text
    assert "IM-0100-0001.jpeg" in caplog.text and "person9_virus_1.png" in caplog.text
    assert "readme.txt" in caplog.text


def test_a_class_with_no_readable_image_is_an_error(tmp_path):
    root = make_split(tmp_path / "train", 2)
    for f in (root / "NORMAL").iterdir():
        f.write_bytes(b"garbage")
    with pytest.raises(DataError, match="no readable NORMAL image"):
        load_split(root, progress=False)


def test_a_usable_val_folder_is_used_instead_of_carving(tmp_path):
    make_split(tmp_path / "train", 6)
    make_split(tmp_path / "val", 3, seed=1)
    train, val, rule = train_val(tmp_path, val_fraction=0.5, seed=0, min_val=4,
                                 progress=False)
    assert len(train) == 12 and len(val) == 6 and "val/" in rule


def test_a_tiny_val_folder_is_ignored_and_validation_carved_by_patient(tmp_path):
    make_split(tmp_path / "train", 8)
    make_split(tmp_path / "val", 1, seed=1)
    train, val, rule = train_val(tmp_path, val_fraction=0.25, seed=0, min_val=10,
                                 progress=False)
    assert "by patient" in rule and len(train) + len(val) == 16
    assert {patient_id(p) for p in train.paths}.isdisjoint({patient_id(p) for p in val.paths})
