"""Symbolic checks in worker processes, each cut off when it has used its own CPU-time limit.

The time limit, in one place:

- ``TIME_LIMIT`` is CPU seconds: the user + system time a worker process spends on one verdict's
  symbolic checks, counted by the kernel (``ITIMER_PROF``) from the moment the worker takes the
  check up. Waiting for a worker, the workers' start-up, machine load and whatever else is being
  graded at the same time never count, so a verdict does not depend on them. A check that reaches
  the limit is killed by the kernel even inside C code (SIGPROF's default action), and the verdict
  is wrong and flagged ``timed_out``.
- A wall-clock backstop, ``WALL_FACTOR`` times the limit but at least ``WALL_MINIMUM`` seconds,
  from the same moment (``ITIMER_REAL``), also kills a check that gets almost no CPU (a machine
  loaded many times over its cores, or a stopped process); only then can load change a verdict.
  A check that does get CPU ends at its CPU limit long before it.
- Work in the calling process (extraction, the in-process parser) is not timed: it is bounded by
  construction, a few milliseconds even on the largest responses (see the benchmarks).

How the processes are laid out: the first check (or `_Pool.warm_up`) starts one helper, a fresh
interpreter run with ``subprocess`` that imports and warms up
:mod:`lm_eval_math500.grader.symbolic` once and then only forks. Each check is taken by an idle
worker forked from it, or by a new one, so concurrent checks never queue behind each other. They
talk over Unix sockets: nothing here uses ``multiprocessing``, so grading works the same in threads,
``multiprocessing.Pool`` workers (daemonic), ``concurrent.futures`` pools and forked children, and
a script needs no ``if __name__ == "__main__":`` guard. The helper exits when its socket to the
grading process closes, which the kernel does when that process dies, even by SIGKILL; each worker
is killed by the kernel when the helper exits (Linux ``PR_SET_PDEATHSIG``), and on any system a
busy worker ends at its own limits and an idle one exits when its socket closes.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

TIME_LIMIT = 1.0  # CPU seconds one verdict's symbolic checks may use (the rules above)
WALL_FACTOR = 10  # the wall-clock backstop, in multiples of the CPU limit ...
WALL_MINIMUM = 30.0  # ... and at least this many seconds, so short limits survive a loaded machine
_SYMBOLIC_MODULE = "lm_eval_math500.grader.symbolic"
_STARTUP_LIMIT = 120.0  # seconds the helper may take to import and warm up the symbolic grader
_REPLY_GRACE = 5.0  # seconds past a check's backstop before its caller stops waiting for the worker
_MAX_IDLE = 8  # idle workers kept for the next checks; more are let go after their check
_MAX_MESSAGE = 1 << 20
_PR_SET_PDEATHSIG = 1
# The package folder's parent, so the helper imports this very copy of the grader.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_HELPER_CODE = (
    "import sys\n"
    "if sys.argv[1] not in sys.path: sys.path.insert(0, sys.argv[1])\n"
    "from lm_eval_math500.grader.worker import serve_helper\n"
    "serve_helper(int(sys.argv[2]))\n"
)


def _send(sock: socket.socket, message: dict) -> None:
    data = json.dumps(message).encode()
    sock.sendall(len(data).to_bytes(4, "big") + data)


def _receive(sock: socket.socket, deadline: float | None = None) -> dict | None:
    """One length-prefixed JSON message; None on end of file, a bad message or the deadline."""
    data = b""
    need, size = 4, None
    while len(data) < need:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
        try:
            chunk = sock.recv(need - len(data))
        except (TimeoutError, OSError):
            return None
        if not chunk:
            return None
        data += chunk
        if size is None and len(data) == 4:
            size = int.from_bytes(data, "big")
            if size > _MAX_MESSAGE:
                return None
            data, need = b"", size
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


# ---------------------------------------------------------------------------------------------
# The helper and worker processes


def _die_with_parent() -> None:
    """Have the kernel kill this process when its parent exits (Linux only; a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent exited before the request took effect
        os._exit(0)


def serve_helper(fd: int) -> None:
    """The helper process: warm up the symbolic grader, then fork a worker for every socket the
    grading process sends over `fd`; exit when that process closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the grading process, which then exits
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps exited workers
    control = socket.socket(fileno=fd)
    try:
        importlib.import_module(_SYMBOLIC_MODULE)
    except BaseException as err:  # reported to the grading process, which raises it
        _send(control, {"error": f"{type(err).__name__}: {err}"})
        os._exit(1)
    gc.freeze()  # keep the warm heap shared between the helper and its forks
    _send(control, {"ready": os.getpid()})
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            break
        if not message:
            break  # the grading process is gone
        for worker_fd in fds:
            if os.fork() == 0:
                control.close()
                _serve_worker(socket.socket(fileno=worker_fd))
            os.close(worker_fd)
    os._exit(0)


def _serve_worker(sock: socket.socket) -> None:
    """A worker: answer checks one at a time, each under its CPU limit and wall-clock backstop,
    until the grading process closes the socket. Never returns."""
    _die_with_parent()
    for sig in (signal.SIGPROF, signal.SIGALRM, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)  # the limits' signals end the process, whatever it runs
    from lm_eval_math500.grader.symbolic import latex_equal  # loaded by the helper already

    while True:
        request = _receive(sock)
        if request is None:
            os._exit(0)
        start = time.process_time()
        signal.setitimer(signal.ITIMER_REAL, request["wall"])
        signal.setitimer(signal.ITIMER_PROF, request["cpu"])
        equal = latex_equal(request["pred"], request["gold"])
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            _send(sock, {"equal": equal, "cpu": time.process_time() - start})
        except OSError:
            os._exit(0)


# ---------------------------------------------------------------------------------------------
# The grading process's side


def backstop(timeout: float) -> float:
    """The wall-clock seconds after which a check with a CPU limit of `timeout` is killed anyway."""
    return max(timeout * WALL_FACTOR, WALL_MINIMUM)


class _Pool:
    """The helper and idle workers of this process, started on first use; all threads share them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.helper: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.ready = False
        self.idle: list[socket.socket] = []
        self.failure = ""

    def _launch(self) -> None:
        """Start the helper if it is not running (without waiting for it). Holds the lock."""
        if self.helper is not None and self.helper.poll() is None and self.control is not None:
            return
        self._drop_helper()
        ours, theirs = socket.socketpair()
        try:
            self.helper = subprocess.Popen(
                [sys.executable, "-c", _HELPER_CODE, _PACKAGE_ROOT, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as err:
            ours.close()
            self._fail(f"{type(err).__name__}: {err}")
        finally:
            theirs.close()
        self.control, self.ready = ours, False

    def _wait_ready(self) -> None:
        """Wait for the helper's warm-up (charged to no check). Holds the lock."""
        if self.ready:
            return
        message = _receive(self.control, time.monotonic() + _STARTUP_LIMIT) or {}
        if "ready" not in message:
            code = self.helper.poll()
            self._drop_helper()
            if "error" in message:
                self._fail(message["error"])
            self._fail(f"exit status {code}" if code is not None else f"not ready after {_STARTUP_LIMIT:.0f} s")
        self.ready = True

    def _fail(self, cause: str) -> None:
        self.failure = (
            f"the symbolic grader's helper process did not start ({cause}); check that "
            f"`{sys.executable} -c 'import {_SYMBOLIC_MODULE}'` works"
        )
        raise RuntimeError(self.failure)

    def _drop_helper(self) -> None:
        """Stop the helper (if it still runs) and forget it; its workers die with it."""
        if self.control is not None:
            self.control.close()
        if self.helper is not None:
            self.helper.kill()
            self.helper.wait()
        self.helper, self.control, self.ready = None, None, False
        for sock in self.idle:
            sock.close()
        self.idle = []

    def warm_up(self) -> None:
        """Start the helper now, in the background, so that its start-up overlaps other work. A
        start that fails is recorded and raised by the first check."""
        with self.lock, contextlib.suppress(RuntimeError):
            if not self.failure:
                self._launch()

    def start(self) -> None:
        """Start the helper and wait until it is ready; RuntimeError when it cannot start."""
        with self.lock:
            if self.failure:
                raise RuntimeError(self.failure)
            self._launch()
            self._wait_ready()

    def _worker(self) -> socket.socket:
        """An idle worker, or a new one forked by the helper (restarted once if it has gone)."""
        with self.lock:
            if self.idle:
                return self.idle.pop()
            for attempt in (1, 2):
                if self.failure:
                    raise RuntimeError(self.failure)
                self._launch()
                self._wait_ready()
                ours, theirs = socket.socketpair()
                try:
                    socket.send_fds(self.control, [b"w"], [theirs.fileno()])
                    return ours
                except OSError:
                    ours.close()
                    if attempt == 2:
                        raise
                    self._drop_helper()  # it died since the last check: start a new one
                finally:
                    theirs.close()
        raise AssertionError("unreachable")

    def _release(self, sock: socket.socket) -> None:
        with self.lock:
            if len(self.idle) < _MAX_IDLE and self.control is not None:
                self.idle.append(sock)
                return
        sock.close()

    def run(self, payload: dict, timeout: float) -> dict | None:
        """Compare ``payload["pred"]`` with ``payload["gold"]`` under a limit of `timeout` CPU seconds:
        ``{"equal": bool, "cpu": seconds used}``, or None when the check was cut off (or its worker
        died). Raises RuntimeError when the helper cannot start."""
        if timeout <= 0:
            return None
        sock = self._worker()
        wall = backstop(timeout)
        request = {"pred": payload["pred"], "gold": payload["gold"], "cpu": timeout, "wall": wall}
        try:
            _send(sock, request)
            reply = _receive(sock, time.monotonic() + wall + _REPLY_GRACE)
        except OSError:
            reply = None
        if reply is None or not isinstance(reply.get("equal"), bool):
            sock.close()  # the worker was killed at its limit, or never answered: it ends with this
            return None
        self._release(sock)
        return {"equal": reply["equal"], "cpu": float(reply.get("cpu", 0.0))}

    def close(self) -> None:
        """Stop the helper and every worker (at exit; a later check starts them again)."""
        with self.lock:
            self._drop_helper()

    def after_fork_in_child(self) -> None:
        """In a forked copy of this process the helper and workers are the parent's: close this copy's
        sockets to them (without a word on them) and start afresh when needed."""
        for sock in [self.control, *self.idle]:
            if sock is not None:
                sock.close()
        if self.helper is not None:
            _PARENTS_HELPERS.append(self.helper)  # not this process's child: never waited for here
        self.__init__()


_PARENTS_HELPERS: list[subprocess.Popen] = []
POOL = _Pool()
atexit.register(POOL.close)
os.register_at_fork(after_in_child=POOL.after_fork_in_child)
