"""The picture machinery: headless Agg, no pyplot state, saving PNG and SVG, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import downhill.viz as viz
from downhill.viz.style import PALETTE, new_figure, save_figure


def test_importing_viz_selects_agg_and_never_loads_pyplot():
    code = (
        "import sys, matplotlib, downhill.viz as viz\n"
        "assert matplotlib.get_backend().lower() == 'agg', matplotlib.get_backend()\n"
        "viz.mountain('sphere', surface=True); viz.speedometer(lambda x: x ** 2, 1.0)\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_viz_leaves_an_already_loaded_pyplot_backend_alone():
    code = (
        "import matplotlib; matplotlib.use('svg'); import matplotlib.pyplot as plt\n"
        "fig = plt.figure(); import downhill.viz as viz\n"
        "assert matplotlib.get_backend() == 'svg'; assert plt.get_fignums() == [1]\n"
        "viz.speedometer(lambda x: x ** 2, 1.0)\n"
        "assert plt.get_fignums() == [1]\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_save_png_and_svg_by_extension(tmp_path, check_png):
    fig = viz.speedometer(lambda x: x ** 3, 0.5)
    png = save_figure(fig, tmp_path / "deep" / "folder" / "speed.png")
    check_png(png)
    svg = save_figure(fig, tmp_path / "speed.svg")
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_save_with_an_unknown_extension_says_which_ones_work(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.svg"):
        viz.speedometer(lambda x: x ** 2, 1.0, save=tmp_path / "speed.jpeg")


def test_figures_are_made_without_pyplot_and_have_an_agg_canvas():
    fig = new_figure(3, 2)
    assert type(fig.canvas).__name__ == "FigureCanvasAgg"


def test_palette_is_okabe_ito():
    assert PALETTE[:3] == ("#0072B2", "#D55E00", "#009E73")


def test_every_public_picture_is_exported():
    assert set(viz.__all__) == {
        "speedometer", "car_trip", "mountain", "compare", "lr_sweep_plot", "lr_range_plot", "graph", "layers",
        "training", "decision_boundary", "animate", "basins", "basins_plot", "loss_landscape", "loss_landscape_plot",
    }
    for name in viz.__all__:
        assert callable(getattr(viz, name)) and getattr(viz, name).__doc__


def test_every_picture_shows_save_in_its_signature():
    import inspect

    for name in viz.__all__:
        assert "save" in inspect.signature(getattr(viz, name)).parameters, name
