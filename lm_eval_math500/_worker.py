"""Symbolic comparison in a child process that is killed on overrun.

Math-Verify / sympy work can run for minutes inside C code, and SIGALRM only works in the main
thread, so the only hard time bound that holds in threads, async code and worker processes is a
separate process. The parent keeps a pool of idle children (one per concurrent caller); a child
that overruns is killed and replaced. Run as a script, this file is the child.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time

_STARTUP_LIMIT = 120.0


class _Child:
    """One child process speaking one JSON request / one JSON reply per line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.ready = False

    def _readline(self, limit: float) -> str | None:
        """A reply line, or None when none arrives within `limit` seconds."""
        ready, _, _ = select.select([self.proc.stdout], [], [], max(limit, 0.0))
        if not ready:
            return None
        return self.proc.stdout.readline()

    def wait_ready(self) -> bool:
        """Block until the child has imported its libraries (not counted against any timeout)."""
        if not self.ready:
            self.ready = self._readline(_STARTUP_LIMIT) == "ready\n"
        return self.ready

    def ask(self, payload: dict, limit: float) -> dict | None:
        """Send one request; the reply, or None on overrun or a dead child."""
        try:
            self.proc.stdin.write(json.dumps(payload) + "\n")
            self.proc.stdin.flush()
            line = self._readline(limit)
        except (OSError, ValueError):
            return None
        if not line:
            return None
        return json.loads(line)

    def kill(self) -> None:
        """Stop the child and reap it."""
        self.proc.kill()
        self.proc.wait()


class _Pool:
    """Idle children shared by all threads of one process; callers never share a child."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Child] = []
        self.pid = os.getpid()

    def _take(self) -> _Child:
        with self.lock:
            if self.pid != os.getpid():
                # A forked copy of the pool: the children belong to the parent process.
                self.idle, self.pid = [], os.getpid()
            if self.idle:
                return self.idle.pop()
        return _Child()

    def _give(self, child: _Child) -> None:
        with self.lock:
            self.idle.append(child)

    def run(self, payload: dict, timeout: float) -> dict | None:
        """Run one request within `timeout` seconds; None when it overran (the child is replaced)."""
        child = self._take()
        if not child.wait_ready():
            child.kill()
            return None
        started = time.monotonic()
        reply = child.ask(payload, timeout)
        if reply is None or time.monotonic() - started > timeout:
            child.kill()
            self._give(_Child())
            return None
        self._give(child)
        return reply

    def close(self) -> None:
        """Kill every idle child (at interpreter exit)."""
        with self.lock:
            if self.pid == os.getpid():
                for child in self.idle:
                    child.kill()
            self.idle = []


POOL = _Pool()
atexit.register(POOL.close)


def _serve() -> None:
    """Child main loop: answer `{"pred", "gold"}` requests with Math-Verify's verdict."""
    from math_verify import LatexExtractionConfig, parse, verify

    config = [LatexExtractionConfig(boxed_match_priority=0)]
    print("ready", flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            gold = parse(f"${req['gold']}$", config, parsing_timeout=None)
            pred = parse(f"${req['pred']}$", config, parsing_timeout=None)
            ok = bool(gold and pred and verify(gold, pred, timeout_seconds=None))
        except Exception:
            ok = False
        print(json.dumps({"equal": ok}), flush=True)


if __name__ == "__main__":
    _serve()
