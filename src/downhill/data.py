"""Feeding a model: ``TensorDataset`` and ``DataLoader``, with PyTorch's names.

A dataset is anything with ``len(dataset)`` and ``dataset[i]`` (one sample, a
tuple of arrays or Tensors). A :class:`DataLoader` walks it in mini-batches:
each batch is a tuple of Tensors whose first axis is the batch. For a
:class:`TensorDataset` a batch is cut out of the whole arrays with one fancy
index per array, with no Python loop over samples.

Shuffling is reproducible and resumable: the order of epoch ``e`` is a
function of ``(seed, e)`` only, as with PyTorch's ``DistributedSampler``. The
loader counts the epochs it has started (each ``iter(loader)`` is one), and
:meth:`DataLoader.set_epoch` sets that count, so a training run that resumes
at epoch 7 gets exactly the order an uninterrupted run saw at epoch 7.
``state_dict()`` / ``load_state_dict()`` save and restore the seed and the count.

>>> import numpy as np
>>> from downhill.data import TensorDataset, DataLoader
>>> X = np.arange(10.0).reshape(5, 2)
>>> y = np.array([0, 1, 0, 1, 1])
>>> loader = DataLoader(TensorDataset(X, y), batch_size=2)
>>> len(loader)
3
>>> [yb.tolist() for xb, yb in loader]
[[0, 1], [0, 1], [1]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .errors import InputError, InputTypeError
from .autodiff.tensor import Tensor, _wrap

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]


class Dataset:
    """Base class of map-style datasets: implement ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one sample, usually a tuple such as ``(x, y)``.
    A subclass may also implement ``__getitems__(indices)``, returning the whole
    batch at once as a tuple of arrays, which the :class:`DataLoader` then uses
    instead of fetching and stacking samples one by one.

    >>> import numpy as np
    >>> from downhill.data import Dataset, DataLoader
    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return np.float64(i), np.float64(i * i)
    >>> [y.tolist() for x, y in DataLoader(Squares(), batch_size=3)]
    [[0.0, 1.0, 4.0], [9.0]]
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays or Tensors: ``dataset[i] == (X[i], y[i])``.

    Arrays are kept as given (no copy, dtype unchanged): convert features to
    the model's dtype first (``X.astype(np.float32)`` for a float32 model).

    >>> import numpy as np
    >>> from downhill.data import TensorDataset
    >>> data = TensorDataset(np.zeros((3, 2)), np.array([4, 5, 6]))
    >>> len(data), data[1][1]
    (3, tensor(5))
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise InputError("TensorDataset needs at least one array, e.g. TensorDataset(X, y)")
        arrays = []
        for i, t in enumerate(tensors):
            array = t.data if isinstance(t, Tensor) else np.asarray(t)
            if array.ndim == 0:
                raise InputError(
                    f"TensorDataset: argument {i} is a single number (shape ()); every argument "
                    "needs a first axis that runs over the samples"
                )
            if array.dtype == object:
                raise InputTypeError(f"TensorDataset: argument {i} is not numeric (dtype object)")
            arrays.append(array)
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise InputError(
                f"TensorDataset needs arrays with the same number of samples (first axis); "
                f"got shapes {shapes}"
            )
        self.arrays: tuple[np.ndarray, ...] = tuple(arrays)

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The arrays as Tensors (sharing memory), as in PyTorch's ``TensorDataset.tensors``."""
        return tuple(_wrap(a) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(_wrap(np.asarray(a[index])) for a in self.arrays)

    def __getitems__(self, indices) -> tuple[np.ndarray, ...]:
        """A whole batch, one fancy index (or slice) per array."""
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


def default_collate(samples: Sequence) -> tuple[np.ndarray, ...]:
    """Stack a list of samples (tuples of arrays, Tensors or numbers) into a batch of arrays.

    >>> import numpy as np
    >>> from downhill.data import default_collate
    >>> xb, yb = default_collate([(np.zeros(2), 1), (np.ones(2), 0)])
    >>> xb.shape, yb
    ((2, 2), array([1, 0]))
    """
    first = samples[0]
    if not isinstance(first, tuple | list):
        return (np.stack([_as_array(s) for s in samples]),)
    width = len(first)
    if any(len(s) != width for s in samples):
        raise InputError("default_collate: samples hold different numbers of fields")
    return tuple(np.stack([_as_array(s[k]) for s in samples]) for k in range(width))


def _as_array(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _check_seed(seed):
    if seed is None:
        # Drawn once, so that the order is still a function of (seed, epoch)
        # and a state_dict can reproduce it.
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"DataLoader: seed must be a non-negative int or None, got {seed!r}")
    return int(seed)


class DataLoader:
    """Mini-batches of a dataset, optionally shuffled anew (and reproducibly) every epoch.

    Args:
        dataset: a :class:`TensorDataset` or any object with ``__len__`` and
            ``__getitem__`` (see :class:`Dataset`).
        batch_size: samples per batch (the last one may be smaller).
        shuffle: visit the samples in a new random order every epoch.
        seed: the shuffling seed (an int). ``None`` draws one at random once,
            which :meth:`state_dict` records.
        drop_last: leave out the last batch when it is smaller than ``batch_size``.

    Iterating yields tuples of Tensors (``for xb, yb in loader``);
    ``len(loader)`` is the number of batches per epoch. Each iteration is one
    epoch and advances :attr:`epoch`; the order of epoch ``e`` depends only on
    ``(seed, e)``. Call :meth:`set_epoch` before an epoch to choose its order
    explicitly, as with PyTorch's ``DistributedSampler`` (``downhill.nn.fit``
    does so).

    >>> import numpy as np
    >>> from downhill.data import TensorDataset, DataLoader
    >>> loader = DataLoader(TensorDataset(np.arange(6)), batch_size=4, shuffle=True, seed=0)
    >>> first = [xb.tolist() for (xb,) in loader]
    >>> second = [xb.tolist() for (xb,) in loader]
    >>> first != second, sorted(sum(first, [])) == list(range(6))
    (True, True)
    >>> loader.set_epoch(0)
    >>> [xb.tolist() for (xb,) in loader] == first
    True
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, seed: int | None = None,
                 drop_last: bool = False) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise InputError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if isinstance(dataset, tuple) and dataset and all(
            isinstance(a, np.ndarray | Tensor) and np.ndim(a) >= 1 for a in dataset
        ):
            # (X, y) would be read as a dataset of two samples, X and y.
            raise InputTypeError(
                "DataLoader got a tuple of arrays; wrap them in a dataset first: "
                "DataLoader(TensorDataset(X, y), batch_size=...)"
            )
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise InputTypeError(
                f"DataLoader needs a dataset with __len__ and __getitem__, got {type(dataset).__name__}; "
                "for arrays use DataLoader(TensorDataset(X, y), batch_size=...)"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = _check_seed(seed)
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (its shuffled order depends on it).

        >>> import numpy as np
        >>> from downhill.data import TensorDataset, DataLoader
        >>> loader = DataLoader(TensorDataset(np.arange(5)), batch_size=5, shuffle=True, seed=3)
        >>> loader.set_epoch(2); a = next(iter(loader))[0].tolist()
        >>> loader.set_epoch(2); b = next(iter(loader))[0].tolist()
        >>> a == b
        True
        """
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer) or epoch < 0:
            raise InputError(f"set_epoch: epoch must be a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)

    def order(self, epoch: int | None = None) -> np.ndarray:
        """The sample indices in the order epoch ``epoch`` visits them (default: the next epoch).

        >>> import numpy as np
        >>> from downhill.data import TensorDataset, DataLoader
        >>> DataLoader(TensorDataset(np.arange(4))).order()
        array([0, 1, 2, 3])
        """
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        epoch = self.epoch if epoch is None else epoch
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        indices = self.order()
        self.epoch += 1
        return self._batches(indices)

    def _batches(self, indices: np.ndarray):
        n = len(indices)
        stop = n - n % self.batch_size if self.drop_last else n
        whole_arrays = isinstance(self.dataset, TensorDataset)
        fetch = getattr(self.dataset, "__getitems__", None)
        for start in range(0, stop, self.batch_size):
            end = min(start + self.batch_size, stop)
            if whole_arrays and not self.shuffle:
                # A slice is the cheapest cut; copy it so that a batch never aliases the data.
                fields = tuple(np.array(field) for field in fetch(slice(start, end)))
            elif fetch is not None:
                fields = fetch(indices[start:end])
            else:
                fields = default_collate([self.dataset[int(i)] for i in indices[start:end]])
            yield tuple(_wrap(np.asarray(field)) for field in fields)

    def state_dict(self) -> dict:
        """What reproduces the coming orders: the seed and the epoch count.

        >>> import numpy as np
        >>> from downhill.data import TensorDataset, DataLoader
        >>> loader = DataLoader(TensorDataset(np.arange(4)), shuffle=True, seed=7)
        >>> _ = list(loader)
        >>> loader.state_dict()
        {'seed': 7, 'epoch': 1}
        """
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the seed and epoch count saved by :meth:`state_dict`.

        >>> import numpy as np
        >>> from downhill.data import TensorDataset, DataLoader
        >>> loader = DataLoader(TensorDataset(np.arange(4)), shuffle=True)
        >>> loader.load_state_dict({"seed": 7, "epoch": 1})
        >>> loader.seed, loader.epoch
        (7, 1)
        """
        self.seed = _check_seed(int(state_dict["seed"]))
        self.set_epoch(int(state_dict["epoch"]))

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"seed={self.seed}, drop_last={self.drop_last})"
        )
