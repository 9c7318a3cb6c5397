"""Settings for the whole test suite."""

import os

# Many-climber runs take descend's NumPy path unless a test asks for the fused
# kernel (tests/optim/test_fused.py compares the two): kernels compiled by an
# earlier run and cached in the user's directory must not change which path
# the other tests see, since the two may differ in the last bit on exp, sin, ...
os.environ.setdefault("DOWNHILL_FUSED", "0")
