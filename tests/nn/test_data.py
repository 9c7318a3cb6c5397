"""DataLoader and TensorDataset: batching, shuffling, drop_last, determinism, resumable order."""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill.data import DataLoader, Dataset, TensorDataset, default_collate


def make_data(n=10):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return X, y


def test_tensor_dataset_indexing_and_len():
    X, y = make_data(5)
    data = TensorDataset(X, dh.tensor(y))
    assert len(data) == 5
    sample = data[2]
    assert isinstance(sample, tuple) and len(sample) == 2
    assert all(isinstance(t, dh.Tensor) for t in sample)
    np.testing.assert_array_equal(sample[0].data, X[2])
    assert sample[1].item() == 2
    assert [t.shape for t in data.tensors] == [(5, 3), (5,)]


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"same number of samples.*\(5, 3\).*\(4,\)"):
        TensorDataset(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="single number"):
        TensorDataset(np.float64(3.0))


@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (10, 10, False, [10]),
    (10, 32, False, [10]),
    (10, 32, True, []),
])
def test_batching_sizes_and_len(n, batch_size, drop_last, sizes):
    X, y = make_data(n)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(yb) for _, yb in batches] == sizes


def test_unshuffled_batches_are_in_order_and_keep_dtype():
    X, y = make_data(7)
    batches = list(DataLoader(TensorDataset(X, y), batch_size=3))
    assert all(isinstance(xb, dh.Tensor) and isinstance(yb, dh.Tensor) for xb, yb in batches)
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([xb.data for xb, _ in batches]), X)
    assert not batches[0][0].requires_grad


def test_batches_do_not_alias_the_dataset():
    X, y = make_data(6)
    for shuffle in (False, True):
        xb, _ = next(iter(DataLoader(TensorDataset(X, y), batch_size=3, shuffle=shuffle, seed=0)))
        xb.data[...] = -1
        assert X.min() >= 0


def test_shuffle_is_a_permutation_and_changes_each_epoch():
    X, y = make_data(50)
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True, seed=1)
    orders = []
    for _ in range(3):
        order = np.concatenate([yb.data for _, yb in loader])
        assert sorted(order.tolist()) == list(range(50))
        orders.append(order.tolist())
    assert orders[0] != orders[1] != orders[2]
    assert orders[0] != list(range(50))
    assert loader.epoch == 3
    # Rows stay together: each x row belongs to its y.
    for xb, yb in loader:
        np.testing.assert_array_equal(xb.data, X[yb.data])


def test_shuffle_is_deterministic_from_seed_and_epoch():
    X, y = make_data(40)

    def epoch_orders(loader, epochs):
        return [np.concatenate([yb.data for _, yb in loader]).tolist() for _ in range(epochs)]

    a = epoch_orders(DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, seed=3), 4)
    b = epoch_orders(DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, seed=3), 4)
    c = epoch_orders(DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, seed=4), 4)
    assert a == b
    assert a != c
    # A resumed loader (set_epoch or state_dict) continues with the same orders.
    resumed = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, seed=3)
    resumed.set_epoch(2)
    assert epoch_orders(resumed, 2) == a[2:]
    fresh = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True)
    fresh.load_state_dict({"seed": 3, "epoch": 1})
    assert epoch_orders(fresh, 3) == a[1:]
    # The order does not depend on the batch size.
    other = DataLoader(TensorDataset(X, y), batch_size=7, shuffle=True, seed=3)
    assert epoch_orders(other, 1)[0] == a[0]


def test_shuffle_with_drop_last_drops_a_different_remainder_each_epoch():
    X, y = make_data(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, seed=0, drop_last=True)
    seen = [np.concatenate([yb.data for _, yb in loader]) for _ in range(5)]
    assert all(len(s) == 8 for s in seen)
    assert len({tuple(sorted(s.tolist())) for s in seen}) > 1


def test_seed_none_draws_a_seed_that_state_dict_records():
    X, y = make_data(20)
    loader = DataLoader(TensorDataset(X, y), batch_size=20, shuffle=True)
    state = loader.state_dict()
    assert isinstance(state["seed"], int) and state["epoch"] == 0
    first = next(iter(loader))[1].tolist()
    twin = DataLoader(TensorDataset(X, y), batch_size=20, shuffle=True)
    twin.load_state_dict(state)
    assert next(iter(twin))[1].tolist() == first


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i + 0.5]), i * i

    batches = list(DataLoader(Squares(), batch_size=2, shuffle=True, seed=0))
    assert [xb.shape for xb, _ in batches] == [(2, 2), (2, 2), (1, 2)]
    ys = sorted(np.concatenate([yb.data for _, yb in batches]).tolist())
    assert ys == [0, 1, 4, 9, 16]


def test_default_collate_checks_widths():
    with pytest.raises(ValueError, match="different numbers"):
        default_collate([(1, 2), (1,)])
    (stacked,) = default_collate([np.zeros(2), np.ones(2)])
    assert stacked.shape == (2, 2)


def test_fancy_indexing_not_per_sample(monkeypatch):
    # A TensorDataset batch is cut with one index per array, never sample by sample.
    X, y = make_data(12)
    data = TensorDataset(X, y)
    monkeypatch.setattr(TensorDataset, "__getitem__", lambda self, i: pytest.fail("per-sample access"))
    assert len(list(DataLoader(data, batch_size=5, shuffle=True, seed=0))) == 3
    assert len(list(DataLoader(data, batch_size=5))) == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"seed": -1}, "seed"),
    ({"seed": "a"}, "seed"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(TensorDataset(np.zeros(3)), **kwargs)


def test_arrays_instead_of_dataset_gives_a_hint():
    with pytest.raises(TypeError, match=r"TensorDataset\(X, y\)"):
        DataLoader((np.zeros(3), np.zeros(3)), batch_size=2)
