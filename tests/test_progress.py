"""Progress bars of long commands: on a terminal's stderr, only after a while,
never in pipes or in --json output, and they change no number.

The command-line tests run `downhill` in a real pseudo-terminal (stderr on the
terminal, stdout on a pipe, as a user who pipes the answer into a file sees it).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import numpy as np
import pytest

import downhill as dh
from downhill import progress

SRC = Path(__file__).resolve().parent.parent / "src"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ---------------------------------------------------------------- the library


@pytest.mark.parametrize("record", [True, False])
@pytest.mark.parametrize("start", [[-1.5, 2.0], [[-1.5, 2.0], [0.5, 0.5], [3.0, -1.0]]], ids=["one", "three"])
def test_descend_with_progress_is_the_same_climb_and_shows_its_steps(monkeypatch, start, record):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setenv(progress.DELAY_VARIABLE, "0")
    f = dh.landscapes.from_expression("100*(y - x**2)**2 + (1 - x)**2")  # NumPy path: the fused kernel has no steps to count
    kwargs = dict(optimizer="adam", lr=0.01, steps=3000, tol=0, record=record)
    quiet = dh.descend(f, start, **kwargs)
    shown = dh.descend(f, start, progress=True, **kwargs)
    for field in ("final_point", "final_value", "steps_taken", "status", "lrs"):
        _same(getattr(quiet, field), getattr(shown, field))
    if record:
        _same(quiet.points, shown.points)
    text = screen.getvalue()
    assert "descend" in text and "step" in text
    assert "/3001" in text  # the total: one slope evaluation per step, and the last look


def test_a_climb_that_stops_early_closes_its_bar(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setenv(progress.DELAY_VARIABLE, "0")
    t = dh.descend("sphere", [1.0, 1.0], lr=0.1, steps=100_000, progress=True)
    assert t.status == "converged" and t.steps_taken < 200
    assert "descend" in screen.getvalue() and "/100001" in screen.getvalue()


def test_no_bar_off_a_terminal(capsys, monkeypatch):
    monkeypatch.setenv(progress.DELAY_VARIABLE, "0")
    dh.descend("rosenbrock", [-1.5, 2.0], lr=1e-4, steps=2000, tol=0, progress=True)
    dh.lr_sweep("booth", [0.0, 0.0], [0.01, 0.05], progress=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_quick_work_draws_nothing_even_on_a_terminal(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.delenv(progress.DELAY_VARIABLE, raising=False)
    assert progress.DELAY == 0.5
    dh.descend("rosenbrock", [-1.5, 2.0], lr=1e-4, steps=200, tol=0, progress=True)
    dh.lr_sweep("booth", [0.0, 0.0], [0.01, 0.05], steps=50, progress=True)
    assert screen.getvalue() == ""


@pytest.mark.parametrize("setting, seconds", [("0", 0.0), ("2.5", 2.5), ("soon", 0.5), ("-1", 0.5), ("nan", 0.5)])
def test_the_delay_setting(monkeypatch, setting, seconds):
    monkeypatch.setenv(progress.DELAY_VARIABLE, setting)
    assert progress._delay() == seconds


def test_counting_loses_no_call():
    class Tally:
        n = 0

        def update(self, n=1):
            self.n += n

    tally = Tally()
    counted = progress.counting(lambda x: 2 * x, tally, every=7)
    assert [counted(i) for i in range(20)] == [2 * i for i in range(20)]
    assert tally.n == 14
    counted.flush()
    assert tally.n == 20


# ---------------------------------------------------------------- the command


def _run_in_terminal(args, delay="0", timeout=120):
    """Run ``downhill ARGS`` with stderr on a pseudo-terminal 100 columns wide; (rc, stdout, terminal text)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    env.pop(progress.DELAY_VARIABLE, None)
    if delay is not None:
        env[progress.DELAY_VARIABLE] = delay
    seen = bytearray()

    def read():
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other side closed
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        done = subprocess.run([sys.executable, "-m", "downhill.cli", *args], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=follower, env=env, timeout=timeout)
    finally:
        os.close(follower)
        reader.join(10)
        os.close(leader)
    return done.returncode, done.stdout.decode(), seen.decode(errors="replace")


COMMANDS = {
    "descend": (["descend", "rosenbrock", "--start", "-1.5,2", "--lr", "1e-4", "--steps", "3000", "--tol", "0"],
                "descend", "final point"),
    "basins": (["basins", "himmelblau", "--grid", "12", "--steps", "200"], "basins", "minimum 0"),
    "compare": (["compare", "rosenbrock", "--start", "-1.5,2", "--optimizers", "sgd,adam,rmsprop",
                 "--lrs", "1e-4,0.01,1e-3", "--steps", "1000"], "compare_optimizers", "adam"),
    "lr-sweep": (["lr-sweep", "booth", "--start", "0,0", "--lrs", "0.001,0.01,0.05", "--steps", "500"],
                 "lr_sweep", "0.05"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_long_commands_show_progress_on_the_terminal_and_none_in_json(command):
    args, label, answer = COMMANDS[command]
    rc, out, terminal = _run_in_terminal(args)
    assert rc == 0, terminal
    assert label in terminal and "%" in terminal, terminal  # the bar, on stderr's terminal
    assert answer in out and label + ":" not in out  # the answer on stdout, no bar in it
    rc, out, terminal = _run_in_terminal([*args, "--json"])
    assert rc == 0, terminal
    assert terminal.strip() == ""  # --json: no bar at all, even on a terminal
    json.loads(out)


def test_a_quick_command_prints_no_bar_on_the_terminal():
    args = ["descend", "booth", "--start", "0,0", "--lr", "0.05", "--steps", "200"]
    rc, out, terminal = _run_in_terminal(args, delay=None)  # the default delay
    assert rc == 0 and "final point" in out
    assert terminal.strip() == ""
