"""Each kind of process a grader or a reward can be called from, for the tests that check it gives the
same answer in all of them: a thread, ``concurrent.futures`` workers (a spawned one stands in for a
Ray worker), daemonic ``multiprocessing.Pool`` workers, and a child of a bare ``os.fork()``."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

KINDS = (
    "thread",
    "executor-fork",
    "executor-spawn",
    "executor-forkserver",
    "daemonic-pool-fork",
    "daemonic-pool-spawn",
    "os-fork",
)


def run_in(kind: str, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` computed in a thread or process of ``kind`` (one of :data:`KINDS`); the
    pools get ``function`` and ``args`` pickled, and every process sends its result back pickled."""
    if kind == "thread":
        out: list[T] = []
        thread = threading.Thread(target=lambda: out.append(function(*args)))
        thread.start()
        thread.join()
        return out[0]
    if kind.startswith("executor-"):
        context = multiprocessing.get_context(kind.removeprefix("executor-"))
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(function, *args).result()
    if kind.startswith("daemonic-pool-"):
        with multiprocessing.get_context(kind.removeprefix("daemonic-pool-")).Pool(1) as pool:  # daemonic workers
            return pool.apply(function, args)
    if kind == "os-fork":
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(pickle.dumps(function(*args)))
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            found = pickle.loads(pipe.read())
        os.waitpid(pid, 0)
        return found
    raise ValueError(f"unknown kind of process {kind!r}; one of {', '.join(KINDS)}")
