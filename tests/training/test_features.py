"""The head phase's feature rows: resident or in a file, the same rows, the same head."""

import torch
from torch import nn

from training import features as features_module
from training.features import Features
from training.loop import train_one_epoch_head


def filled(folder, placement, views=3, n=50, dim=8, seed=0) -> tuple[Features, torch.Tensor]:
    rows = torch.randn(views, n, dim, generator=torch.Generator().manual_seed(seed))
    store = Features(views, n, dim, folder=folder, placement=placement)
    for v in range(views):  # in pieces and out of order, as processes' gathered batches come
        order = torch.randperm(n, generator=torch.Generator().manual_seed(v))
        for part in order.split(7):
            store.put(v, part, rows[v, part])
    store.check_complete()
    return store, rows


def test_rows_put_in_any_order_are_taken_back_the_same_in_memory_and_on_disk(tmp_path):
    memory, rows = filled(tmp_path, "memory")
    disk, _ = filled(tmp_path, "disk")
    assert not memory.on_disk and disk.on_disk and disk.path.parent == tmp_path
    views = torch.tensor([2, 0, 1, 2])
    index = torch.tensor([49, 0, 17, 17])
    expected = rows[views, index]
    assert torch.equal(memory.take(views, index), expected)
    assert torch.equal(disk.take(views, index), expected)
    assert torch.equal(disk.take(1, torch.arange(50)), rows[1])
    path = disk.path
    disk.close()
    assert not path.exists()  # the work folder keeps no feature file


def test_large_features_go_to_disk_by_themselves_small_ones_stay(tmp_path, monkeypatch):
    monkeypatch.setattr(features_module, "RESIDENT_LIMIT", 3 * 50 * 8 * 4 - 1)
    with Features(3, 50, 8, folder=tmp_path) as large, Features(3, 10, 8, folder=tmp_path) as small:
        assert large.on_disk and not small.on_disk
    with Features(3, 50, 8, folder=None) as nowhere:  # no work folder: in memory
        assert not nowhere.on_disk


def test_a_row_nobody_computed_is_an_error_not_a_zero(tmp_path):
    store = Features(1, 5, 2, folder=tmp_path, placement="disk")
    store.put(0, torch.tensor([0, 1, 2, 4]), torch.ones(4, 2))
    try:
        store.check_complete()
    except RuntimeError as exc:
        assert "1 of 5 feature rows" in str(exc)
    else:
        raise AssertionError("a missing row went unnoticed")
    finally:
        store.close()


def test_the_head_trains_the_same_on_rows_in_a_file(tmp_path):
    heads = []
    for placement in ("memory", "disk"):
        store, _ = filled(tmp_path, placement, n=40)
        torch.manual_seed(0)
        head = nn.Linear(8, 2)
        optimizer = torch.optim.Adam(head.parameters(), lr=0.01)
        labels = torch.arange(40) % 2
        for epoch in range(2):
            train_one_epoch_head(head, optimizer, nn.CrossEntropyLoss(), store, labels, 16,
                                 torch.Generator().manual_seed(epoch), "head", False)
        store.close()
        heads.append(head.state_dict())
    assert all(torch.equal(heads[0][k], heads[1][k]) for k in heads[0])
