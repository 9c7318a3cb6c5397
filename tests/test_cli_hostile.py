"""The command under hostile input: bad numbers, sizes, paths and formulas (issue 14).

Every line ends in one of two ways a shell can rely on: exit status 2 with
exactly one short line on stderr and nothing on stdout (so nothing was
computed before the refusal), or exit status 0 with the honest result, a
diverged climb where the climber falls off the mountain. Never a traceback,
and never a file left behind: no picture, no partial file, no temporary.
Everything is written in pytest's temporary folder (FIFOs and links made
here); no real device or system path is touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import downhill as dh
from downhill import limits
from downhill.cli import main

SRC = str(Path(dh.__file__).resolve().parents[1])
LONG = "a" * 100_000
DIVERGED, RAN, BAD = "diverged", "ran", 2  # exit 0 with status diverged; exit 0 (a result); exit 2

# (arguments, outcome). "{T}" is the temporary folder, holding: folder/, folder.png/ (a folder),
# file.txt, dangling.png (a link to nothing), fifo.png and fifo.gif (named pipes).
CASES = [
    # ---- numbers
    (["derivative", "x**2", "--at", "abc"], BAD),
    (["derivative", "x**2", "--at", "nan"], BAD),
    (["derivative", "x**2", "--at", "inf"], BAD),
    (["derivative", "x**2", "--at", "1e999"], BAD),
    (["derivative", "x**2", "--at", "1,2"], BAD),
    (["derivative", "x**2", "--at", ""], BAD),
    (["derivative", "x**2", "--at", ",,,"], BAD),
    (["gradient", "x*y", "--at", "1"], BAD),
    (["gradient", "x*y", "--at", "1,,2"], BAD),
    (["gradient", "x*y", "--at", "1,2,3"], BAD),
    (["descend", "sphere", "--start", "1,1", "--lr", "-1"], BAD),
    (["descend", "sphere", "--start", "1,1", "--lr", "nan"], BAD),
    (["descend", "sphere", "--start", "1,1", "--lr", "inf"], BAD),
    (["descend", "sphere", "--start", "1,1", "--lr", "abc"], BAD),
    (["descend", "sphere", "--start", "1,1", "--steps", "-5"], BAD),
    (["descend", "sphere", "--start", "1,1", "--steps", "1.5"], BAD),
    (["descend", "sphere", "--start", "1,1", "--steps", str(limits.MAX_STEPS + 1)], BAD),
    (["descend", "sphere", "--start", "1,1", "--steps", "9" * 30], BAD),
    (["descend", "sphere", "--start", "1,1", "--tol", "-1"], BAD),
    (["descend", "sphere", "--start", "1,1", "--momentum", "-1"], BAD),
    (["descend", "sphere", "--start", "1,1", "--optimizer", "adam", "--beta1", "2"], BAD),
    (["descend", "sphere", "--start", "1,1", "--optimizer", "nope"], BAD),
    (["descend", "sphere", "--start", "1,1", "--optimizer", "adam", "--momentum", "0.9"], BAD),
    (["descend", "sphere", "--start", "1e999,1"], BAD),
    (["descend", "sphere", "--start", "1"], BAD),
    (["descend", "sphere", "--start", LONG], BAD),
    (["descend", "sphere", "--start", "1,1", "--optimizer", LONG], BAD),
    (["compare", "sphere", "--start", "1,1", "--optimizers", ", ,"], BAD),
    (["compare", "sphere", "--start", "1,1", "--optimizers", "sgd,nope"], BAD),
    (["compare", "sphere", "--start", "1,1", "--lrs", "0.1,0.2"], BAD),
    (["compare", "sphere", "--start", "1,1", "--optimizers", ",".join(["sgd"] * (limits.MAX_RACERS + 1))], BAD),
    (["compare", "sphere", "--start", "1,1", "--steps", str(limits.MAX_STEPS * 2)], BAD),
    (["compare", "sphere", "--start", "1,1", "--lrs", "-1"], BAD),
    (["lr-sweep", "sphere", "--start", "1,1", "--lrs", "-1"], BAD),
    (["lr-sweep", "sphere", "--start", "1,1", "--lrs", "1e400"], BAD),
    (["lr-sweep", "sphere", "--start", "1,1", "--lrs", ",".join(["0.1"] * (limits.MAX_RATES + 1))], BAD),
    (["lr-sweep", "sphere", "--start", "1,1", "--steps", str(limits.MAX_STEPS + 1)], BAD),
    (["lr-sweep", "sphere", "--start", "1,1", "--lrs", ",".join(["0.1"] * 200), "--steps", "1000000"], BAD),
    (["basins", "sphere", "--grid", "1"], BAD),
    (["basins", "sphere", "--grid", "100000"], BAD),
    (["basins", "sphere", "--steps", "-1"], BAD),
    (["basins", "sphere", "--grid", "1000", "--steps", "1000"], BAD),
    (["basins", "x**2", "--grid", "10"], BAD),
    # ---- sizes
    (["train", "moons", "--hidden", "100000,100000"], BAD),
    (["train", "moons", "--hidden", "0"], BAD),
    (["train", "moons", "--hidden", "-3"], BAD),
    (["train", "moons", "--hidden", "1.5"], BAD),
    (["train", "moons", "--hidden", "abc"], BAD),
    (["train", "moons", "--hidden", ""], BAD),
    (["train", "moons", "--hidden", ",".join(["2"] * (limits.MAX_HIDDEN_LAYERS + 1))], BAD),
    (["train", "moons", "--hidden", "4096,4096"], BAD),
    (["train", "moons", "--hidden", "1," * 5000], BAD),
    (["train", "moons", "--epochs", "0"], BAD),
    (["train", "moons", "--epochs", str(limits.MAX_EPOCHS + 1)], BAD),
    (["train", "moons", "--epochs", "-1"], BAD),
    (["train", "nope"], BAD),
    (["train", LONG], BAD),
    (["train", "moons", "--lr", "-1"], BAD),
    (["train", "moons", "--seed", "-1"], BAD),
    # ---- paths
    (["derivative", "x**2", "--at", "1", "--plot", "{T}/missing/p.png"], BAD),
    (["derivative", "x**2", "--at", "1", "--plot", "{T}/p.txt"], BAD),
    (["derivative", "x**2", "--at", "1", "--plot", "{T}/folder"], BAD),
    (["derivative", "x**2", "--at", "1", "--plot", "{T}/folder.png"], BAD),
    (["derivative", "x**2", "--at", "1", "--plot", "{T}/dangling.png"], BAD),
    (["derivative", "x**2", "--at", "1", "--plot", ""], BAD),
    (["gradient", "x*y", "--at", "1,2", "--plot", "{T}/missing/g.png"], BAD),
    (["descend", "sphere", "--start", "1,1", "--animate", "{T}/a.png"], BAD),
    (["descend", "sphere", "--start", "1,1", "--plot", "{T}/missing/x.png"], BAD),
    (["graph", "x*y", "--at", "1,2", "--out", "{T}/missing/g.png"], BAD),
    (["lr-sweep", "sphere", "--start", "1,1", "--plot", "{T}/folder.png"], BAD),
    (["compare", "sphere", "--start", "1,1", "--plot", "{T}/missing/c.png"], BAD),
    (["basins", "sphere", "--grid", "10", "--plot", "{T}/missing/b.png"], BAD),
    (["train", "moons", "--epochs", "1", "--plot", "{T}/missing/t.png"], BAD),
    (["tour", "--out", "{T}/file.txt"], BAD),
    # ---- formulas
    (["descend", "x/0", "--start", "1"], DIVERGED),
    (["descend", "-x**2 + y**2", "--start", "1,1"], BAD),
    (["descend", "--start", "1,1", "--", "-x**2 + y**2"], DIVERGED),
    (["descend", "--formula", "-x**2 + y**2", "--start", "1,1"], DIVERGED),
    (["descend", "--formula=-x**2 + y**2", "--start", "1,1"], DIVERGED),
    (["descend", "x", "--start", "1"], RAN),
    (["descend", "x**2", "--formula", "y", "--start", "1"], BAD),
    (["descend", "--start", "1"], BAD),
    (["descend", "__import__('os').system('echo hi')", "--start", "1"], BAD),
    (["descend", "x**99999999", "--start", "1"], BAD),
    (["descend", "(" * 500 + "x" + ")" * 500, "--start", "1"], BAD),
    (["descend", "x+" * 50_000 + "x", "--start", "1"], BAD),
    (["descend", LONG, "--start", "1"], BAD),
    (["derivative", "sin", "--at", "1"], BAD),
    (["derivative", "x*y", "--at", "1"], BAD),
    (["descend", "exp(x)", "--start", "1000"], DIVERGED),
    (["descend", "exp(exp(x))", "--start", "10"], DIVERGED),
    (["descend", "sphere", "--start", "1e300,1e300", "--lr", "1"], DIVERGED),
    (["descend", "x**2", "--start", "1", "--lr", "1e300"], DIVERGED),
    (["descend", "1/(x-1)", "--start", "1e308"], RAN),  # a flat (underflowed) slope: converged, shown as 1e+308
    (["lr-sweep", "sphere", "--start", "1e308,1"], BAD),  # off the mountain before any step: no rate to blame
    (["lr-sweep", "log(x)", "--start", "-1"], BAD),
    (["graph", "x/0", "--at", "1"], BAD),
    (["graph", "log(x)", "--at", "-1"], BAD),
    (["gradient", "sqrt(x)", "--at", "-1"], BAD),
    # ---- every output path and size option of every subcommand (checked against each --help)
    (["descend", "sphere", "--start", "1,1", "--tol", "1e400"], BAD),  # inf: it would "converge" at step 0
    (["descend", "sphere", "--start", "1,1", "--momentum", "1e400"], BAD),
    (["descend", "sphere", "--start", "1,1", "--momentum", "nan"], BAD),
    (["descend", "sphere", "--start", "1,1", "--optimizer", "adam", "--beta2", "nan"], BAD),
    (["descend", "sphere", "--start", "1,1", "--optimizer", "adam", "--beta1", "-inf"], BAD),
    (["descend", "sphere", "--start", "1,1", "--animate", "{T}/missing/a.gif"], BAD),
    (["descend", "sphere", "--start", "1,1", "--animate", "{T}/dangling.png"], BAD),
    (["descend", "sphere", "--start", "1,1", "--plot", "{T}/" + "p" * 300 + ".png"], BAD),  # name too long
    (["descend", "x**2", "--start", "1", "--plot", "{T}/p.png"], BAD),  # a map needs two variables
    (["gradient", "x*y*z", "--at", "1,2,3", "--plot", "{T}/g.png"], BAD),
    (["gradient", "x*y", "--at", "1,2", "--plot", "{T}/g.gif"], BAD),
    (["graph", "x*y", "--at", "1,2", "--out", "{T}/g.txt"], BAD),
    (["graph", "x*y", "--at", "1,2", "--out", "{T}/folder.png"], BAD),
    (["compare", "sphere", "--start", "1,1", "--lrs", "nan"], BAD),
    (["compare", "sphere", "--start", "1,1", "--steps", "-1"], BAD),
    (["compare", "sphere", "--start", "1,1", "--plot", "{T}/dangling.png"], BAD),
    (["lr-sweep", "sphere", "--start", "1,1", "--steps", "9" * 30], BAD),
    (["lr-sweep", "sphere", "--start", "1,1", "--plot", "{T}/l.pdf.txt"], BAD),
    (["basins", "sphere", "--grid", "5", "--steps", "5", "--lr", "-1"], BAD),
    (["basins", "sphere", "--grid", "5", "--steps", "5", "--optimizer", "nope"], BAD),
    (["basins", "sphere", "--grid", "5", "--steps", str(limits.MAX_STEPS + 1)], BAD),
    (["basins", "sphere", "--grid", "5", "--steps", "5", "--plot", "{T}/folder.png"], BAD),
    (["train", "moons", "--epochs", "1", "--plot", "{T}/t.gif"], BAD),
    (["train", "moons", "--lr", "nan"], BAD),
    (["train", "moons", "--seed", str(2**32)], BAD),
    (["train", "moons", "--epochs", "9" * 30], BAD),
    (["tour", "--out", "{T}/file.txt/sub"], BAD),
    (["tour", "--out", "{T}/fifo.png"], BAD),
    (["serve", "--port", "70000"], BAD),
    (["serve", "--port", "-1"], BAD),
    (["serve", "--workers", "0"], BAD),
    (["serve", "--workers", "100000"], BAD),
    (["serve", "--time-budget", "0"], BAD),
    (["serve", "--time-budget", "nan"], BAD),
    (["serve", "--cache-mb", "-1"], BAD),
    (["serve", "--cache-mb", "1e30"], BAD),
    # ---- the command line itself
    (["landscapes", "extra"], BAD),
    (["no-such-command"], BAD),
    (["descend", "sphere", "--start", "1,1", "--bogus"], BAD),
]


@pytest.fixture
def hostile_folder(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "file.txt").write_text("the user's notes")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere" / "p.png")
    os.mkfifo(tmp_path / "fifo.png")
    os.mkfifo(tmp_path / "fifo.gif")
    return tmp_path


def listing(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.is_symlink(), p.is_dir()) for p in sorted(folder.rglob("*"))}


def check_outcome(outcome, code, out, err, line):
    shown = " ".join(a[:40] for a in line)
    assert "Traceback" not in err and "Traceback" not in out, (shown, err[-2000:])
    if outcome == BAD:
        assert code == 2, (shown, code, out[-500:], err[-500:])
        assert err.startswith("downhill: ") and err.endswith("\n") and err.count("\n") == 1, (shown, err[:600])
        assert len(err) < 500, (shown, err[:600])  # echoed input is cut short
        assert out == "", (shown, out[:300])  # refused before anything was computed or printed
    else:
        assert code == 0, (shown, code, err[-800:])
        result = json.loads(out)
        if outcome == DIVERGED:
            assert result["status"] == "diverged", (shown, result["status"])


def run_in_process(capfd, line):
    try:
        main(line)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    out, err = capfd.readouterr()
    return code, out, err


@pytest.mark.parametrize("line, outcome", CASES, ids=[f"{i}-{' '.join(c[0])[:40]}" for i, c in enumerate(CASES)])
def test_hostile_command_line(line, outcome, hostile_folder, capfd, monkeypatch):
    monkeypatch.chdir(hostile_folder)

    def never(**settings):  # a refused `serve` must not start a server (which would wait for requests forever)
        raise AssertionError(f"the server was started with {settings}")

    monkeypatch.setattr("downhill.web.server.serve", never)
    line = [arg.replace("{T}", str(hostile_folder)) for arg in line]
    if outcome != BAD:
        line = [*line, "--json"] if "--" not in line else [*line[:line.index("--")], "--json", *line[line.index("--"):]]
    before = listing(hostile_folder)
    code, out, err = run_in_process(capfd, line)
    check_outcome(outcome, code, out, err, line)
    assert listing(hostile_folder) == before  # no picture, partial file or temporary left


def test_there_are_at_least_80_hostile_lines():
    assert len(CASES) >= 80


@pytest.mark.parametrize("line", [
    ["derivative", "x**2", "--at", "1", "--plot", "{T}/fifo.png"],
    ["descend", "sphere", "--start", "1,1", "--steps", "5", "--animate", "{T}/fifo.gif"],
    ["descend", "sphere", "--start", "1,1", "--steps", "5", "--plot", "{T}/fifo.png"],
])
def test_a_fifo_as_the_picture_is_refused_at_once(line, hostile_folder):
    """Run as a real process with a timeout: opening a FIFO to write would wait for a reader forever."""
    line = [arg.replace("{T}", str(hostile_folder)) for arg in line]
    before = listing(hostile_folder)
    done = subprocess.run([sys.executable, "-m", "downhill.cli", *line], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": SRC}, cwd=hostile_folder)
    check_outcome(BAD, done.returncode, done.stdout, done.stderr, line)
    assert "named pipe (FIFO)" in done.stderr
    assert listing(hostile_folder) == before


def test_the_limits_are_stated_in_help(capsys):
    for command, option, bound in [("descend", "--steps", limits.MAX_STEPS), ("train", "--epochs", limits.MAX_EPOCHS),
                                   ("compare", "--steps", limits.MAX_STEPS), ("lr-sweep", "--steps", limits.MAX_STEPS),
                                   ("basins", "--grid", limits.MAX_GRID)]:
        try:
            main([command, "--help"])
        except SystemExit:
            pass
        text = " ".join(capsys.readouterr().out.split())
        assert f"{bound:,}" in text, (command, option, text)
    main_help = []
    try:
        main(["train", "--help"])
    except SystemExit:
        pass
    main_help = " ".join(capsys.readouterr().out.split())
    assert f"{limits.MAX_HIDDEN_UNITS:,} units" in main_help and f"{limits.MAX_PARAMETERS:,}" in main_help


def test_a_would_be_option_says_how_to_pass_a_formula(capfd):
    code, out, err = run_in_process(capfd, ["descend", "-x**2 + y**2", "--start", "1,1"])
    assert code == 2 and "--formula" in err and " -- " in err


def test_a_picture_is_written_whole_when_the_path_is_fine(hostile_folder, capfd):
    path = hostile_folder / "folder" / "walk.png"
    code, out, err = run_in_process(capfd, ["descend", "booth", "--start", "0,0", "--steps", "20", "--plot", str(path)])
    assert code == 0 and path.read_bytes()[:4] == b"\x89PNG"
    assert os.listdir(hostile_folder / "folder") == ["walk.png"]


def test_a_full_disk_is_one_line_and_keeps_the_old_picture(hostile_folder, capfd, monkeypatch):
    import errno

    from matplotlib.figure import Figure

    path = hostile_folder / "folder" / "walk.png"
    run_in_process(capfd, ["descend", "booth", "--start", "0,0", "--steps", "20", "--plot", str(path)])
    before = path.read_bytes()
    real = Figure.savefig

    def disk_full(self, target, *args, **kwargs):
        real(self, target, *args, **kwargs)  # the bytes land, then the disk fills before they are all flushed
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", disk_full)
    code, out, err = run_in_process(capfd, ["descend", "himmelblau", "--start", "0,0", "--steps", "20", "--plot",
                                            str(path)])
    assert code == 2 and err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert path.read_bytes() == before
    assert os.listdir(hostile_folder / "folder") == ["walk.png"]


def _small_file_limit(size: int):
    """For a child process: files may grow to ``size`` bytes; a write past it fails with EFBIG, like a full disk."""
    import resource
    import signal

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer instead of failing the write
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("option, name", [("--plot", "walk.png"), ("--plot", "walk.svg"), ("--animate", "walk.gif")])
def test_a_write_cut_short_by_the_disk_keeps_the_old_picture(option, name, tmp_path):
    """A real short write (the file-size limit of the child process), not a simulated one."""
    path = tmp_path / name
    first = subprocess.run([sys.executable, "-m", "downhill.cli", "descend", "booth", "--start", "0,0", "--steps", "20",
                            option, str(path)], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PYTHONPATH": SRC}, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = path.read_bytes()
    assert len(before) > 20_000
    done = subprocess.run([sys.executable, "-m", "downhill.cli", "descend", "himmelblau", "--start", "0,0", "--steps",
                           "20", option, str(path)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": SRC}, cwd=tmp_path, preexec_fn=_small_file_limit(8_000))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert path.read_bytes() == before, "the old picture was lost"  # not a truncated one
    assert os.listdir(tmp_path) == [name]  # and no temporary left
    assert done.stderr.count("\n") == 1 and "File too large" in done.stderr and str(path) in done.stderr, done.stderr


def test_ctrl_c_stops_the_command_with_the_shells_status_and_no_traceback(tmp_path):
    """Ctrl-C mid-climb: exit 130 (128 + SIGINT, as shells report it), one line, no traceback, no picture."""
    import signal
    import time

    picture = tmp_path / "walk.png"
    child = subprocess.Popen([sys.executable, "-m", "downhill.cli", "descend", "rosenbrock", "--start", "-1.5,2",
                              "--lr", "1e-7", "--steps", "1000000", "--tol", "0", "--plot", str(picture)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)  # past the imports, into the climb
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, (child.returncode, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["downhill: stopped"], err
    assert not picture.exists() and list(tmp_path.iterdir()) == []
