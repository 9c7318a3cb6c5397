"""Pictures and animations are written whole or not at all: a temporary beside the target, then a rename."""

from __future__ import annotations

import errno
import io
import os

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from downhill import viz
from downhill.errors import InputError


def disk_fills_halfway(real):
    """A stand-in for a writer whose disk fills up: half the real bytes land, then ENOSPC."""

    def write(self, target, *args, **kwargs):
        buffer = io.BytesIO()
        real(self, buffer, *args, **{**kwargs, **({"format": kwargs.get("format") or "png"})})
        data = buffer.getvalue()
        if isinstance(target, (str, os.PathLike)):
            with open(target, "wb") as file:
                file.write(data[: len(data) // 2])
        else:
            target.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_a_full_disk_never_leaves_half_a_picture(tmp_path, monkeypatch, check_png):
    path = tmp_path / "map.png"
    viz.mountain("booth", save=path)
    before = path.read_bytes()
    monkeypatch.setattr(Figure, "savefig", disk_fills_halfway(Figure.savefig))
    with pytest.raises(OSError, match="No space left"):
        viz.mountain("himmelblau", save=path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    check_png(path)
    assert os.listdir(tmp_path) == ["map.png"]


def test_a_full_disk_never_leaves_half_an_animation(tmp_path, monkeypatch):
    walk = np.array([[1.0, 1.0], [0.5, 0.5], [0.0, 0.0]])
    path = viz.animate("sphere", [walk], save=tmp_path / "walk.gif", frames=3, size=(240, 200))
    before = path.read_bytes()
    monkeypatch.setattr(Image.Image, "save", disk_fills_halfway(Image.Image.save))
    with pytest.raises(OSError, match="No space left"):
        viz.animate("sphere", [walk[::-1]], save=path, frames=3, size=(240, 200))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["walk.gif"]


def test_pictures_refuse_a_fifo_and_follow_a_link(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"named pipe \(FIFO\)"):
        viz.mountain("booth", save=fifo)
    (tmp_path / "pictures").mkdir()
    link = tmp_path / "latest.png"
    link.symlink_to(tmp_path / "pictures" / "map.png")
    with pytest.raises(InputError, match="does not exist"):  # a link to nothing is not followed blindly
        viz.mountain("booth", save=link)
    (tmp_path / "pictures" / "map.png").write_bytes(b"old")
    viz.mountain("booth", save=link)
    assert link.is_symlink() and (tmp_path / "pictures" / "map.png").read_bytes()[:4] == b"\x89PNG"
