"""Symbolic comparison in child processes that are killed on overrun.

Math-Verify / sympy work can run for minutes inside C code, and SIGALRM only works in the main
thread, so the only hard time bound that holds in threads, async code and worker processes is a
separate process. A "zygote" process imports the libraries once; each comparison runs in a child
forked from it (a fork costs milliseconds, a fresh interpreter about a second). The parent keeps
one idle child per concurrent caller; a child that overruns is killed and replaced by a new fork.
Run as a script, this file is the zygote.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

_STARTUP_LIMIT = 120.0
_WARM_UP = [
    ("$x^2+1$", "$1+x^2$"),
    ("$3$", "$\\sum_{k=1}^{2} k^2$"),
    ("$4$", "$\\int_0^{2} 2x\\,dx$"),
    ("$\\frac{\\sqrt{2}}{2}$", "$\\sin(\\pi/4)$"),
    ("$\\{1, 2\\}$", "$(1, 3]$"),
    ("$y = 2x$", "$2x - y = 1$"),
    ("$\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}$", "$\\log_2 8 + e^{i\\pi}$"),
]
_MAX_MESSAGE = 1 << 20


def _send(sock: socket.socket, obj: object) -> None:
    data = json.dumps(obj).encode()
    sock.sendall(len(data).to_bytes(4, "big") + data)


def _recv(sock: socket.socket, deadline: float | None = None) -> object | None:
    """One length-prefixed JSON message; None on EOF, an oversized message or the deadline."""
    buf = b""
    need = 4
    size = None
    while len(buf) < need:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            sock.settimeout(remaining)  # not select(): it fails on descriptors above 1023
        try:
            chunk = sock.recv(need - len(buf))
        except TimeoutError:
            return None
        if not chunk:
            return None
        buf += chunk
        if size is None and len(buf) == 4:
            size = int.from_bytes(buf, "big")
            if size > _MAX_MESSAGE:
                return None
            buf, need = b"", size
    return json.loads(buf)


class _Zygote:
    """The pre-loaded process that forks comparison children on request."""

    def __init__(self) -> None:
        self.sock, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        theirs.close()
        self.ready = _recv(self.sock, time.monotonic() + _STARTUP_LIMIT) == "ready"

    def fork(self) -> tuple[int, socket.socket] | None:
        """A new child: its pid and a socket to it, or None when the zygote is gone."""
        try:
            self.sock.sendall(b"f")
            msg, fds, _, _ = socket.recv_fds(self.sock, 32, 1)
        except OSError:
            return None
        if not fds or not msg:
            return None
        return int(msg.decode()), socket.socket(fileno=fds[0])

    def close(self) -> None:
        """Stop the zygote; children already forked exit when their sockets close."""
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


class _Pool:
    """Idle children shared by all threads of one process; callers never share a child."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fork_lock = threading.Lock()
        self.idle: list[tuple[int, socket.socket]] = []
        self.zygote: _Zygote | None = None
        self.pid = os.getpid()

    def _zygote(self) -> _Zygote | None:
        """The zygote of this process, started on first use (start-up is not charged to a call)."""
        with self.fork_lock:
            if self.zygote is None or (self.zygote.ready and self.zygote.proc.poll() is not None):
                self.zygote = _Zygote()  # a zygote that never got ready is not retried
            return self.zygote if self.zygote.ready else None

    def _take(self) -> tuple[int, socket.socket] | None:
        with self.lock:
            return self.idle.pop() if self.idle else None

    def _fork(self) -> tuple[int, socket.socket] | None:
        zygote = self._zygote()
        if zygote is None:
            return None
        with self.fork_lock:
            return zygote.fork()

    def run(self, payload: dict, timeout: float) -> dict | None:
        """Run one request within `timeout` seconds; None when it overran (the child is killed)."""
        with self.lock:
            if self.pid != os.getpid():
                # A forked copy of the pool: the zygote and children belong to the parent process.
                self.idle, self.zygote, self.pid = [], None, os.getpid()
        self._zygote()
        deadline = time.monotonic() + timeout
        child = self._take() or self._fork()
        if child is None:
            return None
        pid, sock = child
        try:
            _send(sock, payload)
            reply = _recv(sock, deadline)
        except OSError:
            reply = None
        if not isinstance(reply, dict):
            _kill(pid, sock)
            return None
        with self.lock:
            self.idle.append(child)
        return reply

    def close(self) -> None:
        """Stop the zygote and every idle child (at interpreter exit)."""
        with self.lock:
            if self.pid == os.getpid():
                for pid, sock in self.idle:
                    _kill(pid, sock)
                if self.zygote is not None:
                    self.zygote.close()
            self.idle, self.zygote = [], None


def _kill(pid: int, sock: socket.socket) -> None:
    sock.close()
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


POOL = _Pool()
atexit.register(POOL.close)


def _serve(sock: socket.socket) -> None:
    """Child loop: answer `{"pred", "gold"}` requests with Math-Verify's verdict (LaTeX grammar
    only: its ExprExtractionConfig would hand text to sympy's parse_expr)."""
    from math_verify import LatexExtractionConfig, parse, verify

    config = [LatexExtractionConfig(boxed_match_priority=0)]
    while True:
        req = _recv(sock)
        if not isinstance(req, dict):
            os._exit(0)
        try:
            gold = parse(f"${req['gold']}$", config, parsing_timeout=None)
            pred = parse(f"${req['pred']}$", config, parsing_timeout=None)
            ok = bool(gold and pred and verify(gold, pred, timeout_seconds=None))
        except Exception:
            ok = False
        _send(sock, {"equal": ok})


def _zygote_main(fd: int) -> None:
    """Import the libraries once, then fork a serving child for every request byte."""
    from math_verify import LatexExtractionConfig, parse, verify

    # Comparisons of each kind here load the grammar and sympy's lazily imported simplification
    # code (half a second on first use), so that every fork starts warm.
    config = [LatexExtractionConfig()]
    for gold, pred in _WARM_UP:
        verify(parse(gold, config, parsing_timeout=None), parse(pred, config, parsing_timeout=None),
               timeout_seconds=None)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    control = socket.socket(fileno=fd)
    _send(control, "ready")
    while control.recv(1):
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            control.close()
            ours.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _serve(theirs)
            finally:
                os._exit(0)
        theirs.close()
        socket.send_fds(control, [str(pid).encode()], [ours.fileno()])
        ours.close()


if __name__ == "__main__":
    _zygote_main(int(sys.argv[1]))
