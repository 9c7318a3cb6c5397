"""Sweeps beyond one process: run independent climbs on any ``concurrent.futures`` executor.

``lr_sweep``, ``compare_optimizers``, ``basins`` and ``nn.lr_range_test`` take
``executor=``: ``None`` (the default) runs everything here, in this process;
a ``concurrent.futures.ProcessPoolExecutor`` spreads the work over this
machine's cores; ``dask.distributed``'s ``Client(...).get_executor()`` over a
cluster. The work is cut into the same independent climbs either way and each
climb is computed by the same code, so the results equal the serial run's
exactly, bit for bit.

What travels to a worker is pickled: a landscape's name, a
:class:`~downhill.landscapes.Landscape` (sent as its formula) and functions
defined at the top level of a module all travel; a ``lambda`` travels to dask
(which pickles with cloudpickle) but not to a ``ProcessPoolExecutor``.

>>> from concurrent.futures import ThreadPoolExecutor
>>> from downhill.optim.parallel import run_all
>>> with ThreadPoolExecutor(2) as pool:
...     run_all(pow, [(2, 3), (3, 2)], executor=pool)
[8, 9]
"""

from __future__ import annotations

import pickle

from ..errors import InputTypeError
from ..progress import bar as progress_bar

__all__ = ["run_all", "check_executor"]


def check_executor(executor, name: str):
    """``executor`` itself if it can ``submit`` work (or None); a clear error otherwise."""
    if executor is None or callable(getattr(executor, "submit", None)):
        return executor
    raise InputTypeError(
        f"{name}: executor must be a concurrent.futures.Executor (ProcessPoolExecutor, "
        f"ThreadPoolExecutor, dask's Client.get_executor()) or None; got {type(executor).__name__}"
    )


def run_all(function, jobs, executor=None, name: str = "sweep", progress: bool = False) -> list:
    """``[function(*job) for job in jobs]``, on ``executor`` when one is given; in order.

    All jobs are submitted before any result is awaited, so they run side by
    side. A job that cannot be pickled for a worker process is reported as
    the user's mistake, with what to pass instead. ``progress=True`` shows a
    tqdm bar on stderr, counting finished jobs, when stderr is a terminal and
    the jobs take a while (see :mod:`downhill.progress`).
    """
    jobs = list(jobs)
    executor = check_executor(executor, name)
    bar = progress_bar(progress, total=len(jobs), desc=name, unit="run")
    try:
        if executor is None:
            results = []
            for job in jobs:
                results.append(function(*job))
                bar.update()
            return results
        futures = [executor.submit(function, *job) for job in jobs]
        results = []
        for future in futures:
            results.append(future.result())
            bar.update()
        return results
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        if "pickle" not in str(error).lower():
            raise
        raise InputTypeError(
            f"{name}: the work could not be sent to the executor's workers ({error}). Pass the "
            "landscape by name or as a dh.landscapes.Landscape, or a function defined at the top "
            "level of a module; a lambda or a nested function travels only to executors that "
            "pickle code, such as dask's"
        ) from None
    finally:
        bar.close()
