"""Worker processes for the playground's computations, each request with a hard time budget.

A computation runs in a worker process, never in the server's own: the
server keeps reading requests, checking them and serving the page while the
workers compute. Past its budget a computation is stopped for real: its
worker is killed (SIGKILL) and a fresh one takes its place, so a request that
runs too long costs its budget once and nothing after.

Fairness: requests take idle workers in the order they arrive; requests
marked heavy also take one of ``heavy_slots`` tickets (one fewer than the
workers), so however many heavy requests arrive, at least one worker stays
for the light ones. A request that finds no worker within ``wait`` seconds is
refused (the server is full), never left hanging.

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

__all__ = ["ComputePool", "OverBudget", "PoolFull", "WorkerDied"]

# Imported once by the fork server, so that every worker starts with them.
PRELOAD = ["numpy", "downhill", "downhill.web.api", "downhill.web.app"]


class OverBudget(Exception):
    """The computation ran past its budget; its worker was killed and replaced."""

    def __init__(self, budget: float, pid: int):
        super().__init__(f"the computation ran past {budget:g} s; worker {pid} was stopped")
        self.budget = budget
        self.pid = pid


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
    if nice:
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
    __slots__ = ("process", "conn")

    def __init__(self, context, function, nice: int):
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_worker_main, args=(child, function, nice), daemon=True,
                                       name="downhill-worker")
        self.process.start()
        child.close()  # only the worker holds its end: its death is our EOF
        self.conn = parent

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        try:
            self.process.kill()
        except (OSError, ValueError):  # pragma: no cover - already gone
            pass
        self.process.join(5)
        self.conn.close()


class ComputePool:
    """``size`` worker processes answering ``function(job)``, each job within ``budget`` seconds.

    ``function`` must be importable by name (it is sent to the fork server);
    ``heavy_slots``: how many workers heavy jobs may hold at once (default
    ``size - 1``, at least 1); ``wait``: seconds a job may wait for a worker
    (default: the budget); ``nice``: how much lower the workers' priority is.
    """

    def __init__(self, function: Callable[[Any], Any], size: int = 2, budget: float = 10.0, *,
                 heavy_slots: int | None = None, wait: float | None = None, nice: int = 5):
        if size < 1:
            raise ValueError(f"a pool needs at least 1 worker; got {size}")
        self.function = function
        self.size = size
        self.budget = budget
        self.heavy_slots = heavy_slots if heavy_slots is not None else max(1, size - 1)
        self.wait = budget if wait is None else wait
        self.nice = nice
        self._context = multiprocessing.get_context("forkserver")
        self._workers: list[_Worker] = []
        self._idle: asyncio.Queue | None = None
        self._heavy: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self.replaced = 0  # workers killed past their budget (or found dead) and replaced

    # -- starting and stopping ------------------------------------------------

    def start(self) -> None:
        """Start the fork server and the workers (also done by the first :meth:`run`)."""
        with self._lock:
            if self._workers:
                return
            try:
                self._context.set_forkserver_preload(PRELOAD)
            except Exception:  # pragma: no cover - preloading is only a speed-up
                pass
            self._workers = [_Worker(self._context, self.function, self.nice) for _ in range(self.size)]

    def _bind(self) -> None:
        """Queues for the running event loop (a pool may outlive one loop, as under a test client)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self.start()
        self._loop = loop
        self._idle = asyncio.Queue()
        for worker in self._workers:
            self._idle.put_nowait(worker)
        self._heavy = asyncio.Semaphore(self.heavy_slots)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._workers = self._workers, []
            self._loop = None
        for worker in workers:
            worker.kill()

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers now."""
        return [worker.pid for worker in self._workers]

    # -- running a job --------------------------------------------------------

    async def run(self, job: Any, heavy: bool = False) -> Any:
        """``function(job)`` in a worker; raises :class:`OverBudget`, :class:`PoolFull`, :class:`WorkerDied`."""
        self._bind()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        ticket = self._heavy if heavy else None
        if ticket is not None and not await self._within(ticket.acquire(), deadline, ticket.release):
            raise PoolFull(self.wait)
        try:
            box: list[_Worker] = []
            if not await self._within(self._idle.get(), deadline, self._idle.put_nowait, box):
                raise PoolFull(self.wait)
            return await self._on(box[0], job)
        finally:
            if ticket is not None:
                ticket.release()

    @staticmethod
    async def _within(waiting, deadline: float, undo: Callable, box: list | None = None) -> bool:
        """Await ``waiting`` until ``deadline``; False if it did not come (undone if it came too late)."""
        task = asyncio.ensure_future(waiting)
        done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
        if not done:
            task.cancel()
            try:
                value = await task
            except asyncio.CancelledError:
                return False
            # It arrived as it was cancelled: give it back.
            undo(value) if box is not None else undo()
            return False
        value = task.result()
        if box is not None:
            box.append(value)
        return True

    async def _on(self, worker: _Worker, job: Any) -> Any:
        loop = asyncio.get_running_loop()
        answered = loop.create_future()

        def readable():
            if not answered.done():
                answered.set_result(None)

        try:
            worker.conn.send(job)
            loop.add_reader(worker.conn.fileno(), readable)
        except (OSError, ValueError):
            self._replace(worker)
            raise WorkerDied("the worker was gone before the job reached it") from None
        try:
            await asyncio.wait_for(answered, self.budget)
        except asyncio.TimeoutError:
            loop.remove_reader(worker.conn.fileno())
            pid = worker.pid
            self._replace(worker)
            raise OverBudget(self.budget, pid) from None
        except BaseException:  # cancelled (the client went away): the worker's state is unknown
            loop.remove_reader(worker.conn.fileno())
            self._replace(worker)
            raise
        loop.remove_reader(worker.conn.fileno())
        try:
            # The answer is on its way; a large one takes a moment: not on the event loop.
            ok, value = await asyncio.to_thread(worker.conn.recv)
        except (EOFError, OSError):
            self._replace(worker)
            raise WorkerDied("the worker ended without answering") from None
        self._idle.put_nowait(worker)
        if not ok:
            raise RuntimeError(f"the computation failed in worker {worker.pid}:\n{value}")
        return value

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and put a fresh one in its place."""
        worker.kill()
        self.replaced += 1
        with self._lock:
            if worker not in self._workers:
                return  # the pool was closed meanwhile
            fresh = _Worker(self._context, self.function, self.nice)
            self._workers[self._workers.index(worker)] = fresh
        self._idle.put_nowait(fresh)
