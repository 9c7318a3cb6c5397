"""A save killed mid-write (SIGKILL, 10 times) never costs the previous checkpoint, nor leaves garbage for long.

Runs in the default test run (about 10 s): it is the proof that saving is atomic.
"""

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
    deadline = time.monotonic() + 180
    caught_mid_write = tries = 0
    while caught_mid_write < ROUNDS:  # until 10 kills have landed in the middle of a write
        assert time.monotonic() < deadline, f"only {caught_mid_write} of {tries} kills landed mid-write"
        tries += 1
        before = consistent(load(path))
        stale = set(os.listdir(tmp_path))  # what the last killed save left: not this round's write
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(1000 * tries), str(SIZE)],
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
        left = sorted(set(os.listdir(tmp_path)) - {"model.ckpt"})
        # One temporary at most: the one this kill interrupted; the child's save removed the one before.
        assert len(left) <= 1 and not (set(left) & stale), (left, stale)
        caught_mid_write += len(left) == 1
        after = consistent(load(path))  # the checkpoint at the path always loads whole
        assert after == before or after >= 1000 * tries
    save({"version": -1, "weight": np.zeros(SIZE), "bias": np.zeros(8)}, path)
    assert os.listdir(tmp_path) == ["model.ckpt"]  # the next successful save leaves only the checkpoint
    assert load(path)["version"] == -1
