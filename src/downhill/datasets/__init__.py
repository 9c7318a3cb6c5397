"""Small datasets for learning to train: toy problems made on the spot, and the 8x8 digits.

The toy generators (:func:`moons`, :func:`circles`, :func:`spirals`,
:func:`xor`, :func:`blobs`, :func:`regression_1d`) draw fresh data from a seed:
the same seed gives the same arrays, on any machine. The classification ones
return ``(X, y)`` with ``X`` a float64 array of shape ``(n_samples, 2)`` and
``y`` an int64 array of shape ``(n_samples,)`` holding the class labels
``0 .. n_classes - 1``, split as evenly as possible between the classes and
shuffled. :func:`digits` loads scikit-learn's bundled copy of the UCI
handwritten digits (no download). :func:`train_test_split` holds out a test set.

>>> import downhill as dh
>>> from downhill.datasets import moons, train_test_split
>>> X, y = moons(100, noise=0.1, seed=0)
>>> X.shape, X.dtype, y.shape, y.dtype, int(y.sum())
((100, 2), dtype('float64'), (100,), dtype('int64'), 50)
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2, seed=0)
>>> X_train.shape, X_test.shape
((80, 2), (20, 2))
"""

from .digits import digits
from .split import train_test_split
from .synthetic import blobs, circles, moons, regression_1d, spirals, xor

__all__ = ["moons", "circles", "spirals", "xor", "blobs", "regression_1d", "digits", "train_test_split"]
