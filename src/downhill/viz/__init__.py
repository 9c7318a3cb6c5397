"""Pictures: the ideas of the course drawn with matplotlib (headless, Agg).

Every picture function returns a :class:`matplotlib.figure.Figure` and takes
``save="name.png"`` (or ``.svg``). Figures are made without ``pyplot``, so
nothing is left open in pyplot's global state.
"""

import sys

import matplotlib

# Pictures are drawn off screen. Choose Agg only if pyplot has not been loaded:
# switching then would close the figures a user already has open. In Jupyter
# the backend is left alone too, so that the user's own pyplot figures still
# show inline (ours draw on their own Agg canvas and show through _repr_png_).
if "matplotlib.pyplot" not in sys.modules and "ipykernel" not in sys.modules:
    matplotlib.use("Agg")

from .animation import animate  # noqa: E402
from .basin_map import basins, basins_plot  # noqa: E402
from .chain import graph, layers  # noqa: E402
from .curves import decision_boundary, training  # noqa: E402
from .learning_rate import lr_range_plot, lr_sweep_plot  # noqa: E402
from .loss_landscape import loss_landscape, loss_landscape_plot  # noqa: E402
from .maps import compare, mountain  # noqa: E402
from .tangent import car_trip, speedometer  # noqa: E402

__all__ = ["speedometer", "car_trip", "mountain", "compare", "lr_sweep_plot", "lr_range_plot",
           "graph", "layers", "training", "decision_boundary",
           "animate", "basins", "basins_plot", "loss_landscape", "loss_landscape_plot"]
