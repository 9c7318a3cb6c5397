"""basins_plot and basins: every start coloured by the minimum it reaches."""

from __future__ import annotations

import numpy as np

import downhill.viz as viz
from downhill.optim.basins import basins

from .conftest import legend_texts


def test_basins_picture(tmp_path, check_png):
    fig = viz.basins("himmelblau", lr=0.01, grid=60, save=tmp_path / "b.png")
    check_png(tmp_path / "b.png", min_bytes=20_000)
    ax = fig.axes[0]
    image = ax.get_images()[0]
    assert image.get_array().shape == (60, 60)
    labels = legend_texts(fig)
    assert len(labels) == 4 and labels[0].startswith("minimum 0 at (3, 2): ")
    assert sum(int(t.rsplit(" ", 1)[1].rstrip("%")) for t in labels) in range(98, 103)
    assert ax.get_title() == "sgd, lr=0.01, 200 steps, 60 x 60 starts on himmelblau"
    assert "Basins of attraction" in fig._suptitle.get_text()


def test_basins_plot_shows_divergence_and_elsewhere():
    result = basins("himmelblau", lr=0.025, grid=40)
    fig = viz.basins_plot(result)
    labels = legend_texts(fig)
    assert any(t.startswith("diverged (fell off)") for t in labels)
    assert any(t.startswith("ended away from the known minima") for t in labels)
    # The image's colour index follows the labels: -1 and -2 after the four minima.
    data = np.asarray(fig.axes[0].get_images()[0].get_array())
    assert np.array_equal(data == 4, result.labels == -1) and np.array_equal(data == 5, result.labels == -2)
