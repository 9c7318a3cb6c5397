"""Worker processes for the playground's computations, each request with a hard time budget.

A computation runs in a worker process, never in the server's own: the
server keeps reading requests, checking them and serving the page while the
workers compute. Past its budget a computation is stopped for real: its
worker is killed (SIGKILL) and a fresh one takes its place, so a request that
runs too long costs its budget once and nothing after.

Each request has one deadline, its arrival plus the budget: waiting for a
worker and computing both count, so every request is answered (a result or
an error) within its budget, however busy the server.

Fairness: two lanes. Light requests take the ``size`` light workers in the
order they arrive. Heavy requests (those the server's estimate says take
long) go to their own lane of ``heavy_size`` workers that run at a lower
priority still: they compute with what the light ones leave of the cores, so
however many heavy requests arrive, the light ones keep every light worker
and nearly all the processor. A request that finds no worker within ``wait``
seconds is refused (the server is full), never left hanging.

Workers are forked from a clean fork server that has imported downhill once
(``multiprocessing``'s "forkserver" start method): a replacement is ready in
milliseconds, and a worker holds no copy of the server's sockets or threads.
Each worker runs at a lower priority (``nice``) than the server, so the
server answers quickly even when every core computes.

>>> import asyncio, operator
>>> pool = ComputePool(operator.neg, size=1, budget=5.0)
>>> asyncio.run(pool.run(3))
-3
>>> pool.close()
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable
from typing import Any

from ..errors import InputError

__all__ = ["ComputePool", "OverBudget", "PoolFull", "WorkerDied"]

# Imported once by the fork server, so that every worker starts with them.
PRELOAD = ["numpy", "downhill", "downhill.web.api", "downhill.web.app"]


class OverBudget(Exception):
    """The request ran past its budget while computing; its worker was killed and replaced."""

    def __init__(self, budget: float, pid: int, waited: float):
        super().__init__(f"the request ran past {budget:g} s (it waited {waited:.1f} s for a worker); "
                         f"worker {pid} was stopped")
        self.budget = budget
        self.pid = pid
        self.waited = waited


class PoolFull(Exception):
    """No worker became free within the wait."""

    def __init__(self, wait: float):
        super().__init__(f"no worker was free within {wait:g} s")
        self.wait = wait


class WorkerDied(Exception):
    """The worker ended without answering (killed from outside, out of memory, a crash)."""


def _worker_main(conn, function: Callable[[Any], Any], nice: int) -> None:
    """A worker: answer jobs from ``conn`` with ``function(job)`` until the server hangs up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the server's to handle; it ends us
    if nice and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:  # pragma: no cover - not allowed here: run at the server's priority
            pass
    try:
        # The pool is the parallelism: a climb of many climbers in a worker
        # uses one core, not a thread per core on top of every other worker.
        from ..optim import descend

        descend.WORKERS = 1
    except ImportError:  # pragma: no cover
        pass
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = (True, function(job))
        except BaseException:  # a bug: the traceback goes back to the server's log
            answer = (False, traceback.format_exc())
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    __slots__ = ("process", "conn", "_ending", "_ended")

    def __init__(self, context, function, nice: int):
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_worker_main, args=(child, function, nice), daemon=True,
                                       name="downhill-worker")
        self.process.start()
        child.close()  # only the worker holds its end: its death is our EOF
        self.conn = parent
        self._ending = threading.Lock()
        self._ended = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        # Once, whoever comes first: the pool's close() and a replacement running in a
        # thread may both end the same worker, and two joins and closes of one
        # process's descriptors at once fail with "Bad file descriptor".
        with self._ending:
            if self._ended:
                return
            self._ended = True
            try:
                self.process.kill()
            except (OSError, ValueError):  # pragma: no cover - already gone
                pass
            self.process.join(5)
            self.conn.close()


class _Lane:
    """Workers of one priority and the queue of those idle."""

    def __init__(self, size: int, nice: int):
        self.size = size
        self.nice = nice
        self.workers: list[_Worker] = []
        self.idle: asyncio.Queue | None = None

    def bind(self) -> None:
        self.idle = asyncio.Queue()
        for worker in self.workers:
            self.idle.put_nowait(worker)


class ComputePool:
    """Worker processes answering ``function(job)``, each job within ``budget`` seconds of its arrival.

    ``function`` must be importable by name (it is sent to the fork server);
    ``size``: light workers; ``heavy_size``: workers for heavy jobs (default
    half as many, at least 1); ``wait``: seconds a job may wait for a worker
    (default: the budget); ``nice`` and ``heavy_nice``: how much lower than
    the server's the two lanes' priorities are.
    """

    def __init__(self, function: Callable[[Any], Any], size: int = 2, budget: float = 10.0, *,
                 heavy_size: int | None = None, wait: float | None = None, nice: int = 5, heavy_nice: int = 15):
        if size < 1:
            raise InputError(f"a pool needs at least 1 worker (a whole number >= 1); got {size}")
        self.function = function
        self.size = size
        self.budget = budget
        self.wait = budget if wait is None else wait
        self._lanes = {False: _Lane(size, nice),
                       True: _Lane(heavy_size if heavy_size is not None else max(1, size // 2), heavy_nice)}
        # forkserver where the system has it (Linux, macOS); spawn elsewhere (Windows): slower to
        # replace a worker (a fresh Python imports downhill), the same otherwise.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self._context = multiprocessing.get_context(method)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._started = False
        self.replaced = 0  # workers killed past their budget (or found dead) and replaced
        self._pending: set[asyncio.Task] = set()  # replacements under way (kept referenced until done)

    # -- starting and stopping ------------------------------------------------

    def start(self) -> None:
        """Start the fork server and the workers (also done by the first :meth:`run`)."""
        with self._lock:
            if self._started:
                return
            if self._context.get_start_method() == "forkserver":
                self._context.set_forkserver_preload(PRELOAD)
            for lane in self._lanes.values():
                lane.workers = [_Worker(self._context, self.function, lane.nice) for _ in range(lane.size)]
            self._started = True

    def _bind(self) -> None:
        """Queues for the running event loop (a pool may outlive one loop, as under a test client)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._started:
            return
        self.start()
        self._loop = loop
        for lane in self._lanes.values():
            lane.bind()

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers = [worker for lane in self._lanes.values() for worker in lane.workers]
            for lane in self._lanes.values():
                lane.workers = []
            self._started = False
            self._loop = None
        for worker in workers:
            worker.kill()

    @property
    def pids(self) -> list[int]:
        """The process ids of the light workers now."""
        return [worker.pid for worker in self._lanes[False].workers]

    @property
    def heavy_pids(self) -> list[int]:
        """The process ids of the heavy lane's workers now."""
        return [worker.pid for worker in self._lanes[True].workers]

    @property
    def heavy_size(self) -> int:
        return self._lanes[True].size

    # -- running a job --------------------------------------------------------

    async def run(self, job: Any, heavy: bool = False) -> Any:
        """``function(job)`` in a worker; raises :class:`OverBudget`, :class:`PoolFull`, :class:`WorkerDied`."""
        self._bind()
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        deadline = arrived + self.budget
        lane = self._lanes[bool(heavy)]
        task = asyncio.ensure_future(lane.idle.get())
        done, _ = await asyncio.wait({task}, timeout=max(0.0, min(self.wait, self.budget)))
        if not done:
            task.cancel()
            try:
                worker = await task
            except asyncio.CancelledError:
                raise PoolFull(self.wait) from None
            lane.idle.put_nowait(worker)  # it came as the wait ended: give it back
            raise PoolFull(self.wait)
        worker = task.result()
        return await self._on(lane, worker, job, deadline, loop.time() - arrived)

    async def _on(self, lane: _Lane, worker: _Worker, job: Any, deadline: float, waited: float) -> Any:
        loop = asyncio.get_running_loop()
        answered = loop.create_future()

        def readable():
            if not answered.done():
                answered.set_result(None)

        try:
            worker.conn.send(job)
            loop.add_reader(worker.conn.fileno(), readable)
        except (OSError, ValueError):
            await self._renew(lane, worker)
            raise WorkerDied("the worker was gone before the job reached it") from None
        try:
            await asyncio.wait_for(answered, max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            loop.remove_reader(worker.conn.fileno())
            pid = worker.pid
            # Killed now; reaped and replaced in the background, so the answer goes out at once.
            self._pending.add(loop.create_task(self._renew(lane, worker)))
            raise OverBudget(self.budget, pid, waited) from None
        except BaseException:  # cancelled (the client went away): the worker's state is unknown
            loop.remove_reader(worker.conn.fileno())
            self._replace(lane, worker)
            raise
        loop.remove_reader(worker.conn.fileno())
        try:
            # The answer is on its way; a large one takes a moment: not on the event loop.
            ok, value = await asyncio.to_thread(worker.conn.recv)
        except (EOFError, OSError):
            await self._renew(lane, worker)
            raise WorkerDied("the worker ended without answering") from None
        lane.idle.put_nowait(worker)
        if not ok:
            raise RuntimeError(f"the computation failed in worker {worker.pid}:\n{value}")
        return value

    async def _renew(self, lane: _Lane, worker: _Worker) -> None:
        """Kill ``worker`` now and put a fresh one in its place, the waiting done off the event loop."""
        try:
            worker.process.kill()  # at once: its CPU is free from here
        except (OSError, ValueError):  # pragma: no cover - already gone
            pass
        try:
            fresh = await asyncio.to_thread(self._swap, lane, worker)
            if fresh is not None:
                lane.idle.put_nowait(fresh)
        finally:
            self._pending.discard(asyncio.current_task())

    def _replace(self, lane: _Lane, worker: _Worker) -> None:
        """Kill ``worker`` and put a fresh one in its place (here, on the event loop: on cancellation)."""
        fresh = self._swap(lane, worker)
        if fresh is not None:
            lane.idle.put_nowait(fresh)

    def _swap(self, lane: _Lane, worker: _Worker) -> _Worker | None:
        """Reap ``worker`` and start its replacement; None if the pool was closed meanwhile."""
        worker.kill()
        with self._lock:
            self.replaced += 1
            if worker not in lane.workers:
                return None
            fresh = _Worker(self._context, self.function, lane.nice)
            lane.workers[lane.workers.index(worker)] = fresh
        return fresh
