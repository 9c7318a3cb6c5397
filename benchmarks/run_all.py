"""Run every benchmark and regenerate the README's speed table from scratch.

    python benchmarks/run_all.py            # print the table
    python benchmarks/run_all.py --write    # also replace it in README.md

The table sits between the markers ``<!-- speed-table:start -->`` and
``<!-- speed-table:end -->`` in README.md; nothing else in the README is
touched. Each figure comes from one run of the benchmark named beside it
(blocks of consecutive calls alternating between engines, see harness.py);
the header line says the machine's CPUs, its load and the thread counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_descend  # noqa: E402
import bench_engine  # noqa: E402
import bench_mlp  # noqa: E402
from harness import threads  # noqa: E402

START, END = "<!-- speed-table:start -->", "<!-- speed-table:end -->"


def table(rows, note):
    lines = [START, "", note, "",
             "| workload: benchmark (command) | downhill | peers | ratio | bar |", "|---|---|---|---|---|"]
    lines += [row.markdown().replace("(`bench_", "(`python benchmarks/bench_") for row in rows]
    return "\n".join(lines + ["", END])


def write(readme, text):
    with open(readme) as handle:
        content = handle.read()
    if START not in content or END not in content:
        raise SystemExit(f"{readme} has no {START} ... {END} markers to replace")
    before, rest = content.split(START, 1)
    after = rest.split(END, 1)[1]
    temporary = readme + ".tmp"
    with open(temporary, "w") as handle:  # a temporary name, then a rename: never half a README
        handle.write(before + text + after)
    os.replace(temporary, readme)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args()
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    rows = []
    for module in (bench_engine, bench_descend, bench_mlp):
        rows += module.collect(args.rounds)
    note = (f"Measured {began} by `python benchmarks/run_all.py` ({args.rounds} blocks of >= 0.2 s per engine, "
            f"alternating; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end). "
            f"{threads()}.")
    text = table(rows, note)
    print(text)
    if args.write:
        write(os.path.join(os.path.dirname(HERE), "README.md"), text)


if __name__ == "__main__":
    main()
