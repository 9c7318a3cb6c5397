"""nn.loss_landscape and viz.loss_landscape: the network's error mountain, checked by hand."""

import json

import numpy as np
import pytest
from PIL import Image

import downhill as dh
from downhill import nn
from downhill.errors import InputError, LimitError


def _moons_model(hidden=8, seed=0):
    nn.manual_seed(seed)
    # float64, so that a hand computation in NumPy agrees to rounding.
    return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2)).double()


def _numpy_loss(flat, X, y, hidden=8):
    """Cross-entropy of the 2-hidden-2 tanh network, by hand in NumPy, from a flat weight vector."""
    sizes = [(hidden, 2), (hidden,), (2, hidden), (2,)]
    parts, at = [], 0
    for shape in sizes:
        n = int(np.prod(shape))
        parts.append(flat[at:at + n].reshape(shape))
        at += n
    w1, b1, w2, b2 = parts
    logits = np.tanh(X @ w1.T + b1) @ w2.T + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(y)), y].mean()


@pytest.fixture(scope="module")
def data():
    return dh.datasets.moons(120, noise=0.1, seed=0)


def _train(model, X, y, steps=150, every=10):
    optimizer = dh.optim.SGD(model.parameters(), lr=0.5)
    recorder = nn.PathRecorder()
    recorder.on_train_begin(model, optimizer)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss_fn(model(dh.tensor(X)), dh.tensor(y)).backward()
        optimizer.step()
        if step % every == 0:
            recorder.on_epoch_end(step, {})
    return recorder.path


def test_every_grid_value_is_the_loss_of_the_moved_weights_computed_by_hand(data):
    X, y = data
    model = _moons_model()
    result = nn.loss_landscape(model, X, y, resolution=7, seed=3)
    center = np.concatenate([p.data.ravel() for p in model.parameters()])
    assert result.center_loss == pytest.approx(_numpy_loss(center, X, y), rel=1e-12)
    d1, d2 = result.direction_vectors
    for i in (0, 3, 6):
        for j in (0, 2, 5):
            moved = center + result.alphas[j] * d1 + result.betas[i] * d2
            assert result.losses[i, j] == pytest.approx(_numpy_loss(moved, X, y), rel=1e-12)
    assert result.losses[3, 3] == result.center_loss  # (0, 0) is the centre


def test_random_directions_are_filter_normalised_and_leave_biases_alone(data):
    X, y = data
    model = _moons_model()
    result = nn.loss_landscape(model, X, y, resolution=3)
    for direction in result.direction_vectors:
        at = 0
        for p in model.parameters():
            piece = direction[at:at + p.data.size].reshape(p.data.shape)
            at += p.data.size
            if p.data.ndim == 1:
                assert np.all(piece == 0)
            else:
                np.testing.assert_allclose(np.linalg.norm(piece, axis=1), np.linalg.norm(p.data, axis=1),
                                           rtol=1e-12)
    # Two different random directions, and the same ones for the same seed.
    assert not np.allclose(*result.direction_vectors)
    again = nn.loss_landscape(model, X, y, resolution=3)
    np.testing.assert_array_equal(again.losses, result.losses)


def test_the_training_path_ends_at_the_centre_of_its_own_plane(data):
    X, y = data
    model = _moons_model()
    path = _train(model, X, y)
    result = nn.loss_landscape(model, X, y, path=path, resolution=9)
    assert result.directions == "principal"
    np.testing.assert_allclose(result.path[-1], [0.0, 0.0], atol=1e-12)
    assert result.path_losses[-1] == result.center_loss
    assert result.path_losses[0] > 2 * result.path_losses[-1]  # it learned: a real walk downhill
    assert 0.5 < result.explained <= 1.0
    d1, d2 = result.direction_vectors
    assert d1 @ d2 == pytest.approx(0.0, abs=1e-12) and np.linalg.norm(d1) == pytest.approx(1.0)
    # The grid covers the whole path.
    assert result.alphas.min() <= result.path[:, 0].min() and result.path[:, 0].max() <= result.alphas.max()
    assert result.betas.min() <= result.path[:, 1].min() and result.path[:, 1].max() <= result.betas.max()
    json.dumps(result.to_dict(), allow_nan=False)
    assert "training path" in str(result)


def test_fit_with_the_path_recorder(data):
    X, y = data
    model = _moons_model()
    recorder = nn.PathRecorder()
    loader = dh.data.DataLoader(dh.data.TensorDataset(X.astype(np.float32), y), batch_size=40, shuffle=True,
                                seed=0)
    nn.fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.3), loader, epochs=6,
           callbacks=[recorder], progress=False)
    assert len(recorder.path) == 7
    result = nn.loss_landscape(model, X.astype(np.float32), y, path=recorder.path, resolution=5)
    np.testing.assert_allclose(result.path[-1], [0.0, 0.0], atol=1e-6)


def test_the_weights_are_restored_even_when_the_loss_fails(data):
    X, y = data
    model = _moons_model()
    before = [p.data.copy() for p in model.parameters()]

    def failing(output, target):
        raise RuntimeError("planted")

    with pytest.raises(RuntimeError, match="planted"):
        nn.loss_landscape(model, X, y, loss_fn=failing, resolution=3)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


def test_bad_requests_say_what_is_accepted(data):
    X, y = data
    model = _moons_model()
    with pytest.raises(LimitError, match="3 to 101"):
        nn.loss_landscape(model, X, y, resolution=1000)
    with pytest.raises(InputError, match="two snapshots"):
        nn.loss_landscape(model, X, y, path=[[p.data for p in model.parameters()]])
    with pytest.raises(InputError, match="shapes"):
        nn.loss_landscape(model, X, y, path=[[np.zeros(3)], [np.zeros(3)]])
    with pytest.raises(InputError, match="span"):
        nn.loss_landscape(model, X, y, span=-1.0)


def test_the_picture_shows_the_mountain_the_path_and_the_star(data, tmp_path):
    X, y = data
    model = _moons_model()
    path = _train(model, X, y)
    fig = dh.viz.loss_landscape(model, X, y, path=path, resolution=15, save=tmp_path / "ll.png")
    ax = fig.axes[0]
    with Image.open(tmp_path / "ll.png") as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    box = ax.get_window_extent()
    h = rgb.shape[0]
    area = rgb[int(h - box.y1) + 2:int(h - box.y0) - 2, int(box.x0) + 2:int(box.x1) - 2]
    # The mountain: the plot area is painted, not white.
    white = np.all(area > 245, axis=2)
    assert white.mean() < 0.05
    # The path, in vermillion (#D55E00), is drawn.
    path_colour = np.array([0xD5, 0x5E, 0x00])
    assert (np.abs(area - path_colour).max(axis=2) < 25).sum() > 200
    # The star (#F0E442) sits at the centre (0, 0) of the slice.
    cx, cy = ax.transData.transform((0.0, 0.0))
    star = rgb[int(round(h - cy)) - 3:int(round(h - cy)) + 4, int(round(cx)) - 3:int(round(cx)) + 4]
    assert (np.abs(star - np.array([0xF0, 0xE4, 0x42])).max(axis=2) < 30).any()


def test_the_chain_panels_run_has_its_error_mountain():
    from downhill.nn.recipes import chain_loss_landscape, chain_snapshots

    run = chain_snapshots("moons", hidden=[4, 4], steps=120, snapshot_every=10, grid=5)
    result = chain_loss_landscape(run, resolution=11)
    assert result.directions == "principal"
    # The centre is the trained network's loss; the path is the run's snapshots, ending there.
    # (A run reports its weights to 6 decimals, so the losses agree to about 1e-6.)
    assert result.center_loss == pytest.approx(run["loss_curve"][-1], rel=1e-5)
    np.testing.assert_allclose(result.path_losses, [s["loss"] for s in run["snapshots"]], rtol=1e-5)
    np.testing.assert_allclose(result.path[-1], [0.0, 0.0], atol=1e-12)
    # No steps: no path to follow, random directions instead.
    still = chain_loss_landscape(chain_snapshots("xor", hidden=[3], steps=0, grid=5), resolution=5)
    assert still.path is None and still.directions.startswith("random")


def test_the_moons_networks_picture_centre_is_its_own_loss_and_the_path_ends_on_the_star(data, tmp_path):
    X, y = data
    model = _moons_model()
    path = _train(model, X, y)
    with dh.no_grad():
        own_loss = float(nn.CrossEntropyLoss()(model(dh.tensor(X)), dh.tensor(y)).item())
    computed = nn.loss_landscape(model, X, y, path=path, resolution=15)
    assert computed.center_loss == own_loss  # the same forward pass, the same number
    fig = dh.viz.loss_landscape(model, X, y, path=path, resolution=15, save=tmp_path / "ll.png")
    ax = fig.axes[0]
    assert f"trained weights: loss {own_loss:.4g}" in [t.get_text() for t in ax.get_legend().get_texts()]
    # The drawn path's last point is the centre, and on the pixels the path's
    # colour reaches the star: the last segment runs into it.
    (line,) = [line for line in ax.get_lines() if line.get_label().startswith("training path")]
    np.testing.assert_allclose(line.get_xydata()[-1], [0.0, 0.0], atol=1e-12)
    with Image.open(tmp_path / "ll.png") as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    h = rgb.shape[0]
    cx, cy = ax.transData.transform((0.0, 0.0))
    near = rgb[int(round(h - cy)) - 16:int(round(h - cy)) + 17, int(round(cx)) - 16:int(round(cx)) + 17]
    assert (np.abs(near - np.array([0xD5, 0x5E, 0x00])).max(axis=2) < 25).sum() > 10
    # The colours are the losses: the filled contours' levels cover the slice's lowest to highest loss.
    filled = [c for c in ax.collections if hasattr(c, "levels")][0]
    assert filled.levels[0] <= np.nanmin(computed.losses) < np.nanmax(computed.losses) <= filled.levels[-1]
