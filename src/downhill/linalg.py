"""``downhill.linalg``: linear algebra with derivatives, NumPy's ``numpy.linalg`` names.

>>> import downhill as dh
>>> dh.grad(lambda a: dh.linalg.det(a))(dh.tensor([[2.0, 0.0], [0.0, 3.0]]))
tensor([[3., 0.],
        [0., 2.]])
"""

from .autodiff.linalg import *  # noqa: F403
from .autodiff.linalg import __all__  # noqa: F401
