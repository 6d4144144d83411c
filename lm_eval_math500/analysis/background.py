"""Work a report hands to a forked child process, so that it runs on a second core meanwhile.

A forked child starts with the parent's memory as it is: the responses a report has read (on a
run of 500 x 64, some 120 MB) reach it without being copied or pickled. Only the result comes back,
pickled through a pipe. Where there is no ``fork`` (Windows) or it is unsafe (macOS), or only one
core, the work runs at once in the calling process instead.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """The result of work started by :func:`in_background`; :meth:`result` waits for it."""

    def __init__(self, name: str, pid: int | None, reader: int | None, value: Any = None) -> None:
        self._name, self._pid, self._reader, self._value = name, pid, reader, (True, value)

    def result(self) -> T:
        """The work's return value; an exception it raised is raised here."""
        if self._pid is not None:
            with os.fdopen(self._reader, "rb") as pipe:
                payload = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = None
            if not payload:
                raise RuntimeError(f"the child process running {self._name} ended ({_how(status)}) before it finished")
            self._value = pickle.loads(payload)
        done, value = self._value
        if not done:
            raise value
        return value

    def __del__(self) -> None:
        if self._pid is not None:  # never waited for: stop listening, and reap the child once it ends
            os.close(self._reader)
            os.waitpid(self._pid, 0)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def in_background(function: Callable[..., T], *args: Any) -> Pending[T]:
    """Start ``function(*args)`` in a forked child process (else run it now) and return its
    :class:`Pending` result."""
    if sys.platform != "linux" or (os.cpu_count() or 1) < 2:
        return Pending(function.__qualname__, None, None, function(*args))
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the work, send the outcome, leave without running the parent's exit code
        os.close(reader)
        try:
            try:
                payload = pickle.dumps((True, function(*args)))
            except BaseException as error:  # noqa: BLE001 - the parent raises it
                try:
                    payload = pickle.dumps((False, error))
                except Exception:  # noqa: BLE001 - an exception that does not pickle goes back as text
                    payload = pickle.dumps((False, RuntimeError(f"{type(error).__name__}: {error}")))
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(0)
    os.close(writer)
    return Pending(function.__qualname__, pid, reader)
