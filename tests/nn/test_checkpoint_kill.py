"""A save killed mid-write (SIGKILL, 10 times) never costs the previous checkpoint, nor leaves garbage for long."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import downhill as dh
from downhill.checkpoint import load, save

SRC = str(Path(dh.__file__).resolve().parents[1])
ROUNDS = 10
SIZE = 4_000_000  # float64 weights: a 32 MB checkpoint, long enough to be caught mid-write

# The child saves a "model" again and again; every save holds one round number throughout,
# so a checkpoint that loads whole can be checked for consistency.
CHILD = """
import sys
import numpy as np
from downhill.checkpoint import save
path, first, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = np.arange(size, dtype=np.float64)
print("ready", flush=True)
version = first
while True:
    save({"version": version, "weight": base + version, "bias": np.full(8, float(version))}, path)
    version += 1
"""


def consistent(state) -> int:
    version = state["version"]
    weight = state["weight"]
    assert weight.shape == (SIZE,) and weight[0] == version and weight[-1] == SIZE - 1 + version
    assert np.all(state["bias"] == version)
    return version


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_killed_saves_keep_the_previous_checkpoint_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "model.ckpt"
    save({"version": 0, "weight": np.arange(SIZE, dtype=np.float64), "bias": np.zeros(8)}, path)
    deadline = time.monotonic() + 120
    caught_mid_write = 0
    for round_ in range(ROUNDS):
        before = consistent(load(path))
        stale = set(os.listdir(tmp_path))  # what the last killed save left: not this round's write
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(1000 * (round_ + 1)), str(SIZE)],
                                 stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": SRC})
        try:
            assert child.stdout.readline().strip() == b"ready"
            # Wait until a temporary is partly written (a kill mid-write), then kill.
            while time.monotonic() < deadline:
                partial = [entry for entry in os.scandir(tmp_path) if entry.name not in stale
                           and 0 < entry.stat().st_size]
                if partial:
                    break
                time.sleep(0.002)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
            child.stdout.close()
        assert time.monotonic() < deadline, "the child never started writing"
        caught_mid_write += any(name not in stale for name in os.listdir(tmp_path))
        assert len(os.listdir(tmp_path)) <= 2, "a save removes what the save killed before it left"
        after = consistent(load(path))  # the checkpoint at the path always loads whole
        assert after == before or after >= 1000 * (round_ + 1)
    assert caught_mid_write >= ROUNDS // 2, "most kills should land in the middle of a write"
    save({"version": -1, "weight": np.zeros(SIZE), "bias": np.zeros(8)}, path)
    assert os.listdir(tmp_path) == ["model.ckpt"]
    assert load(path)["version"] == -1
