"""downhill differentiates every real-valued function that HIPS autograd does.

The names are those autograd gives derivative rules (``autograd/numpy/numpy_vjps.py``,
``numpy_wrapper.py``, ``linalg.py``, ``fft.py``), read by hand; the few left out are
listed with the reason.
"""

from __future__ import annotations

import downhill as dh

AUTOGRAD = """
where nan_to_num add multiply subtract divide maximum minimum fmax fmin logaddexp logaddexp2
true_divide mod remainder power negative abs fabs absolute reciprocal exp exp2 expm1 log log2 log10
log1p sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh rad2deg degrees deg2rad
radians square sqrt sinc reshape roll array_split split vsplit hsplit dsplit ravel expand_dims squeeze
diag flipud fliplr rot90 trace full triu tril clip swapaxes moveaxis rollaxis real_if_close real imag
conj conjugate angle cross linspace diff repeat tile kron transpose sum mean prod var std max min amax
amin cumsum inner matmul dot tensordot outer concatenate sort msort partition atleast_1d atleast_2d
atleast_3d einsum diagonal make_diagonal vstack row_stack hstack column_stack array select stack append
linalg.det linalg.slogdet linalg.inv linalg.pinv linalg.solve linalg.norm linalg.eigh linalg.eig
linalg.cholesky linalg.svd fft.fft fft.ifft fft.fft2 fft.ifft2 fft.fftn fft.ifftn fft.rfft fft.irfft
fft.rfft2 fft.irfft2 fft.rfftn fft.irfftn fft.fftshift fft.ifftshift
""".split()

LEFT_OUT = {
    # complex numbers are out of scope (README)
    "real_if_close": "complex", "real": "complex", "imag": "complex", "conj": "complex",
    "conjugate": "complex", "angle": "complex", "linalg.eig": "complex eigenvalues",
    # FFTs are out of scope (README)
    **{name: "FFT" for name in AUTOGRAD if name.startswith("fft.")},
    "msort": "removed from NumPy 2", "row_stack": "deprecated in NumPy 2 (vstack)",
    "make_diagonal": "autograd's internal helper", "array": "downhill's name is tensor",
}


def _has(name):
    value = dh
    for part in name.split("."):
        if not hasattr(value, part):
            return False
        value = getattr(value, part)
    return callable(value)


def test_every_real_valued_function_autograd_differentiates_is_here():
    assert len(AUTOGRAD) == len(set(AUTOGRAD)) == 139
    missing = [name for name in AUTOGRAD if name not in LEFT_OUT and not _has(name)]
    assert not missing, f"autograd differentiates these and downhill has no such function: {missing}"
    assert sum(_has(name) for name in AUTOGRAD) == 114  # the figure the README quotes
