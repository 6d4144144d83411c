"""Symbolic comparison in worker processes that are killed when they overrun.

Math-Verify / sympy work can run for minutes inside C code, and SIGALRM only works in the main
thread, so the only hard time bound that holds in threads, async code and worker processes is a
separate process. The workers come from multiprocessing's fork server, which imports and warms up
:mod:`lm_eval_math500.grader.symbolic` once, so a new worker is a fork of a warm process and never
of the caller. pebble's ``ProcessPool`` kills a worker whose call is cancelled or overruns and forks
a replacement. As with every fork-server or spawn start, each worker imports the caller's main
module, so a script that grades must guard its top-level code with ``if __name__ == "__main__":``;
and a daemonic process (a ``multiprocessing.Pool`` worker) cannot start the workers at all.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.util
import os
import signal
import threading
import time
from concurrent import futures

from pebble import ProcessExpired, ProcessPool

_SYMBOLIC_MODULE = "lm_eval_math500.grader.symbolic"
# At least two, so a call never waits for a killed worker's replacement; more than the cores cannot
# run at once; eight serve a thread pool that grades in parallel.
_WORKERS = max(2, min(os.cpu_count() or 1, 8))
_STARTUP_LIMIT = 120.0


def _prepare_worker() -> None:
    """Worker start: let SIGTERM kill at once, even inside C code (pebble stops workers with it,
    and would wait 3 s before SIGKILL), and load the grader if the fork server did not."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    importlib.import_module(_SYMBOLIC_MODULE)


def _ready() -> None:
    """A no-op call: its answer shows that a worker has started."""


def _latex_equal(pred: str, gold: str) -> bool:
    from lm_eval_math500.grader.symbolic import latex_equal  # imported already in every worker

    return latex_equal(pred, gold)


class _Pool:
    """The worker pool of this process, started on first use; callers in any thread share it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pool: ProcessPool | None = None
        self.failure = ""

    def _started(self) -> ProcessPool:
        """The running pool. Start-up (the fork server's imports and warm-up) happens here and is
        charged to no call; workers that cannot start raise, then and on every later call."""
        with self.lock:
            if self.failure:
                raise RuntimeError(self.failure)
            if self.pool is not None and self.pool.active:
                return self.pool
            if self.pool is not None:  # broken, e.g. a worker died while idle: start afresh
                self.pool.stop()
                self.pool.join()
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([_SYMBOLIC_MODULE])
            pool = self.pool = ProcessPool(max_workers=_WORKERS, initializer=_prepare_worker, context=context)
            # Stop the workers when this process exits. A multiprocessing finalizer runs at exit in
            # processes that multiprocessing started too, where atexit does not and the exit would
            # wait for the workers forever.
            multiprocessing.util.Finalize(None, self.close, exitpriority=10)
            try:
                pool.schedule(_ready).result(timeout=_STARTUP_LIMIT)
            except Exception as err:
                if self.pool is pool:  # else close() has stopped it, at exit
                    self.pool = None
                    pool.stop()
                    pool.join()
                self.failure = (
                    f"the symbolic grader's worker processes did not start ({type(err).__name__}: {err}). "
                    "multiprocessing's fork server starts them, which a daemonic process cannot use, and "
                    "each imports the main module: grade from a script file whose top-level code is "
                    "under `if __name__ == \"__main__\":`, outside daemonic pool workers"
                )
                raise RuntimeError(self.failure) from err
            return self.pool

    def warm_up(self) -> None:
        """Start the workers now, before any verdict, so that no verdict's time limit includes their
        start-up. A start that fails is recorded and raised by the first call that needs them."""
        with contextlib.suppress(RuntimeError):
            self._started()

    def run(self, payload: dict, timeout: float) -> dict | None:
        """Run one ``{"pred", "gold"}`` request within `timeout` seconds: ``{"equal": bool}``, or
        None when it overran or its worker died (the worker is killed and replaced)."""
        pool = self._started()
        if timeout <= 0:
            return None
        deadline = time.monotonic() + timeout
        future = pool.schedule(_latex_equal, (payload["pred"], payload["gold"]), timeout=timeout)
        try:
            equal = future.result(timeout=max(deadline - time.monotonic(), 0.0))
        except (futures.TimeoutError, futures.CancelledError, ProcessExpired):
            future.cancel()  # a call still queued is dropped, a running one has its worker killed
            return None
        return {"equal": bool(equal)}

    def close(self) -> None:
        """Stop the workers (at exit). Takes no lock: a start still under way holds it, and stopping
        its pool is what ends that start."""
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.stop()
            with contextlib.suppress(OSError):  # its channels already closed by a failed start
                pool.join()


POOL = _Pool()


def _forget_the_parent_processes() -> None:
    """In a forked copy of this process, the pool's threads are gone and its workers and fork server
    are the parent's: start afresh. (multiprocessing cannot reach the parent's fork server from a
    forked child, CPython issue 86354, so its record of that server is reset too.)"""
    POOL.__init__()
    server = multiprocessing.forkserver._forkserver
    if server._forkserver_alive_fd is not None:
        os.close(server._forkserver_alive_fd)
    server.__init__()


os.register_at_fork(after_in_child=_forget_the_parent_processes)
