"""The tasks through lm-eval's OpenAI-compatible backends against a real vLLM server, resumed runs, faults.

One ``vllm serve`` of the tiny model (``tiny_model.py``) runs on 127.0.0.1 for the whole session and
is stopped whatever the outcome. Every run reaches it through a small HTTP proxy of its own
(:class:`Proxy`), which records each request and reply and can inject faults, so the tests count what
really went over the wire. The tiny model answers R1-Zero prompts and deepthink prefills with a
fixed, well-formed response (the gold of MATH-500 problems 1 and 2) and writes a random walk
elsewhere, so sampled question_only responses differ from seed to seed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import lm_eval
import pytest
from lm_eval.tasks import TaskManager

from conftest import VLLM_ENV, console_script
import lm_eval_math500.harness.journal  # noqa: F401  (registers --model journal)
from lm_eval_math500.cli import tasks_dir
from tiny_model import DEEPTHINK_RESPONSE, R1_ZERO_RESPONSE

# One server (a session fixture) serves every test, on one xdist worker.
pytestmark = [pytest.mark.served, pytest.mark.slow, pytest.mark.xdist_group("served")]

LIMIT = 8
CONCURRENCY = 4
MAX_GEN_TOKS = 24
REPEATS = 3
SERVED_NAME = "tiny"
SAMPLED_TASK = "math500_question_only_sampled"
SERVER_START_TIMEOUT = 300  # seconds; the CPU build is ready in about 30-40 s
RUN_TIMEOUT = 300  # seconds for one lm-eval run; a healthy one takes 10-40 s
# Some of the first 8 MATH-500 prompts are longer than the tiny model's 512 positions, and a chat
# request cannot be shortened by the harness: the served copy of the model declares 1024.
MAX_MODEL_LEN = 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# ---------------------------------------------------------------- the server and the proxy


@dataclass(frozen=True)
class Server:
    """A running ``vllm serve``: its port, the name it serves the model under, the tokenizer folder."""

    port: int
    tokenizer: Path


@pytest.fixture(scope="session")
def vllm_server(vllm_installed, tiny_model, offline_env, tmp_path_factory) -> Iterator[Server]:
    """vLLM's own OpenAI-compatible server on 127.0.0.1, started once and always stopped."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("vllm_server")
    model = shutil.copytree(tiny_model.path, folder / "model")
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    config["max_position_embeddings"] = MAX_MODEL_LEN  # rotary positions: computed, not learned
    (model / "config.json").write_text(json.dumps(config), encoding="utf-8")
    log_path = folder / "vllm-serve.log"
    argv = [
        console_script("vllm"), "serve", str(model),
        "--host", "127.0.0.1", "--port", str(port), "--served-model-name", SERVED_NAME,
        "--dtype", "float32", "--max-model-len", str(MAX_MODEL_LEN), "--enforce-eager",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, env={**offline_env, **VLLM_ENV}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"vllm serve exited with {process.returncode}\n{_tail(log_path)}", pytrace=False)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve not ready in {SERVER_START_TIMEOUT} s\n{_tail(log_path)}", pytrace=False)
            time.sleep(0.5)
        yield Server(port=port, tokenizer=model)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@dataclass
class Exchange:
    """One request that the proxy answered with the server's 200 reply."""

    payload: dict[str, Any]
    reply: dict[str, Any]


class Proxy:
    """An HTTP proxy on 127.0.0.1 in front of the server that records requests and injects faults.

    ``faults`` are used up one per request, in order: ``"error"`` (a 503 reply), ``"drop"`` (the
    connection is closed without a reply), ``"slow"`` (the reply comes after ``slow_seconds``,
    past the client's timeout). After ``fail_after`` answered requests every request gets a 503;
    after ``hold_after`` answered requests further requests are held unanswered until the proxy stops.
    ``port`` is a free one unless given (a resumed run reaches the server at the same address).
    """

    def __init__(
        self,
        upstream_port: int,
        faults: tuple[str, ...] = (),
        *,
        fail_after: int | None = None,
        hold_after: int | None = None,
        slow_seconds: float = 8.0,
        port: int = 0,
    ) -> None:
        self.upstream_port = upstream_port
        self.faults = list(faults)
        self.fail_after, self.hold_after, self.slow_seconds = fail_after, hold_after, slow_seconds
        self.posts = self.holding = 0
        self.in_flight = self.most_in_flight = 0
        self.injected: list[str] = []
        self.answered: list[Exchange] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def _decide(self) -> str:
        with self.lock:
            self.posts += 1
            if self.hold_after is not None and len(self.answered) >= self.hold_after:
                return "hold"
            if self.fail_after is not None and len(self.answered) >= self.fail_after:
                return "error"
            return self.faults.pop(0) if self.faults else "pass"

    def _forward(self, path: str, body: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.upstream_port}{path}", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=RUN_TIMEOUT) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                action = proxy._decide()
                with proxy.lock:
                    proxy.in_flight += 1
                    proxy.most_in_flight = max(proxy.most_in_flight, proxy.in_flight)
                try:
                    self._serve(action, body)
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1

            def _serve(self, action: str, body: bytes) -> None:
                if action != "pass":
                    with proxy.lock:
                        proxy.injected.append(action)
                if action == "hold":
                    with proxy.lock:
                        proxy.holding += 1
                    proxy.stopping.wait(timeout=RUN_TIMEOUT)
                if action in ("drop", "hold"):
                    self.close_connection = True
                    return
                if action == "error":
                    self._reply(503, b'{"error": {"message": "injected fault", "code": 503}}')
                    return
                if action == "slow":
                    proxy.stopping.wait(timeout=proxy.slow_seconds)
                status, reply = proxy._forward(self.path, body)
                try:
                    self._reply(status, reply)
                except OSError:  # the client gave up waiting (a slow reply): nothing was delivered
                    return
                if status == 200 and action == "pass":
                    with proxy.lock:
                        proxy.answered.append(Exchange(json.loads(body), json.loads(reply)))

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def do_GET(self) -> None:
                request = urllib.request.Request(f"http://127.0.0.1:{proxy.upstream_port}{self.path}")
                try:
                    with urllib.request.urlopen(request, timeout=30) as reply:
                        status, body = reply.status, reply.read()
                except urllib.error.HTTPError as error:
                    status, body = error.code, error.read()
                self._reply(status, body)

        return Handler


# ---------------------------------------------------------------- running lm-eval


@pytest.fixture(scope="session")
def sampled_tasks(tmp_path_factory) -> Path:
    """A folder with question_only sampled at T=1 with ``repeats``, as a user would write it."""
    folder = tmp_path_factory.mktemp("sampled_tasks")
    (folder / f"{SAMPLED_TASK}.yaml").write_text(
        f"include: {tasks_dir() / 'math500' / 'math500_question_only.yaml'}\n"
        f"task: {SAMPLED_TASK}\n"
        f"repeats: {REPEATS}\n"
        "generation_kwargs:\n"
        "  until: []\n"
        "  do_sample: true\n"
        "  temperature: 1.0\n"
        f"  max_gen_toks: {MAX_GEN_TOKS}\n",
        encoding="utf-8",
    )
    return folder


def _completions_args(proxy: Proxy, server: Server, **extra: Any) -> dict[str, Any]:
    return {
        "model": SERVED_NAME,
        "tokenizer": str(server.tokenizer),
        "base_url": proxy.url("/v1/completions"),
        "num_concurrent": CONCURRENCY,
        "max_length": MAX_MODEL_LEN,
        **extra,
    }


def _evaluate(model: str, model_args: dict[str, Any], tasks: list[str], shared_data: Path, *, include: Path | None = None, chat: bool = False, **metadata: Any) -> dict[str, Any]:
    """One lm-eval run in this process (tasks indexed without lm-eval's built-in ones, for speed)."""
    manager = TaskManager(
        include_path=[str(tasks_dir())] + ([str(include)] if include else []),
        include_defaults=False,
        metadata={"data_dir": str(shared_data), **metadata},
    )
    return lm_eval.simple_evaluate(
        model=model,
        model_args=model_args,
        tasks=tasks,
        task_manager=manager,
        limit=LIMIT,
        gen_kwargs={"max_gen_toks": MAX_GEN_TOKS},
        apply_chat_template=chat,
        log_samples=True,
        bootstrap_iters=0,
    )


def _cli(out: Path, env: dict[str, str], shared_data: Path, include: Path, model_args: dict[str, Any], journal: Path) -> subprocess.Popen:
    """``lm-eval-math500 run --journal`` on the sampled task, started in the background."""
    argv = [
        console_script("lm-eval-math500"), "run",
        "--model", "local-completions", "--model_args", json.dumps(model_args),
        "--tasks", SAMPLED_TASK, "--include_path", str(include), "--limit", str(LIMIT),
        "--gen_kwargs", f"max_gen_toks={MAX_GEN_TOKS}",
        "--metadata", json.dumps({"data_dir": str(shared_data)}),
        "--output_path", str(out / "output"), "--log_samples", "--journal", str(journal),
    ]  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        argv, cwd=out, env=env, stdout=(out / "stdout.log").open("wb"), stderr=(out / "stderr.log").open("wb"),
        start_new_session=True,
    )  # fmt: skip


def _finish(process: subprocess.Popen, out: Path) -> int:
    try:
        return process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        pytest.fail(f"lm-eval-math500 run did not finish in {RUN_TIMEOUT} s\n{_tail(out / 'stderr.log')}", pytrace=False)


def _scores(results: dict[str, Any], task: str) -> dict[str, float]:
    """A task's metric values (not their standard errors)."""
    return {k: v for k, v in results["results"][task].items() if "," in k and "_stderr" not in k}


def _resps(samples: list[dict[str, Any]]) -> dict[tuple[int, str], list[str]]:
    return {(row["doc_id"], row["filter"]): [text for group in row["resps"] for text in group] for row in samples}


def _journal_rows(path: Path) -> list[dict[str, Any]]:
    """The generations a journal holds (the lines after its head, which records what made them)."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:  # a journal opened a moment ago
        return []
    head, *rows = lines
    assert head["journal"]["model_args"]["model"] == SERVED_NAME
    return rows


def _golds(shared_data: Path) -> list[str]:
    with (shared_data / "math500" / "test.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["answer"] for line in handle][:LIMIT]


# ---------------------------------------------------------------- every variant through both backends


def test_completions_serve_every_variant_with_the_tasks_settings(vllm_server, shared_data):
    tasks = ["math500_r1zero", "math500_question_only", "math500_deepthink"]
    with Proxy(vllm_server.port) as proxy:
        results = _evaluate(
            "local-completions", _completions_args(proxy, vllm_server), tasks, shared_data, deepthink_prefill=True
        )
    golds = _golds(shared_data)
    for task in tasks:
        assert results["n-samples"][task]["effective"] == LIMIT
    # The raw prompt ends in "Assistant: <think>", so the model writes its R1-Zero answer; the
    # server cuts the stop string as the in-process backends do.
    for row in results["samples"]["math500_r1zero"]:
        assert row["arguments"][0][0].endswith("\nAssistant: <think>")
        assert row["resps"] == [[R1_ZERO_RESPONSE.removesuffix("</answer>")]]
        assert row["format_ok"] == 1.0
    assert _scores(results, "math500_r1zero")["accuracy,tags"] == golds.count("p - q") / LIMIT
    # The deepthink prefill is part of the raw prompt, so the response continues after it.
    for row in results["samples"]["math500_deepthink"]:
        assert row["arguments"][0][0].endswith("<start_deepthink>")
        assert row["resps"] == [[DEEPTHINK_RESPONSE.removesuffix("</SOLUTION>")]]
    assert _scores(results, "math500_deepthink")["accuracy,strict"] == golds.count("\\frac{14}{3}") / LIMIT

    task_of_stop = {("</answer>",): "math500_r1zero", (): "math500_question_only", ("</SOLUTION>",): "math500_deepthink"}
    sent: dict[str, list[Exchange]] = {task: [] for task in tasks}
    for exchange in proxy.answered:
        sent[task_of_stop[tuple(exchange.payload["stop"])]].append(exchange)
    assert {task: len(exchanges) for task, exchanges in sent.items()} == dict.fromkeys(tasks, LIMIT)
    for exchange in sent["math500_r1zero"]:  # CS336 sampling, with the --gen_kwargs budget
        assert (exchange.payload["temperature"], exchange.payload["top_p"]) == (1.0, 1.0)
        assert exchange.payload["max_tokens"] == MAX_GEN_TOKS
    for exchange in sent["math500_question_only"]:  # greedy, no stop: the whole budget and no more
        assert (exchange.payload["temperature"], exchange.payload["stop"]) == (0.0, [])
        assert exchange.reply["usage"]["completion_tokens"] == MAX_GEN_TOKS
    assert proxy.most_in_flight > 1  # num_concurrent really sends requests side by side
    assert proxy.injected == []


def test_chat_completions_run_r1zero_and_question_only(vllm_server, shared_data):
    tasks = ["math500_r1zero", "math500_question_only"]
    with Proxy(vllm_server.port) as proxy:
        model_args = {"model": SERVED_NAME, "base_url": proxy.url("/v1/chat/completions"), "num_concurrent": CONCURRENCY}
        results = _evaluate("local-chat-completions", model_args, tasks, shared_data, chat=True)
    for task in tasks:
        assert results["n-samples"][task]["effective"] == LIMIT
        for row in results["samples"][task]:
            ((response,),) = row["resps"]
            assert isinstance(response, str) and response
    stops = sorted(tuple(exchange.payload["stop"]) for exchange in proxy.answered)
    assert stops == [()] * LIMIT + [("</answer>",)] * LIMIT
    for exchange in proxy.answered:
        (message,) = exchange.payload["messages"]  # the prompt is one user turn; the server renders it
        assert message["role"] == "user"
        assert exchange.payload["max_tokens"] == MAX_GEN_TOKS
        assert exchange.reply["usage"]["completion_tokens"] <= MAX_GEN_TOKS
    assert proxy.most_in_flight > 1


# ---------------------------------------------------------------- repeats at temperature 1


@pytest.fixture(scope="module")
def sampled_baseline(vllm_server, shared_data, sampled_tasks, tmp_path_factory) -> dict[str, Any]:
    """An uninterrupted journaled run of the sampled task: results, samples and what was sent."""
    journal = tmp_path_factory.mktemp("baseline") / "journal.jsonl"
    with Proxy(vllm_server.port) as proxy:
        model_args = {"backend": "local-completions", "journal": str(journal), **_completions_args(proxy, vllm_server)}
        results = _evaluate("journal", model_args, [SAMPLED_TASK], shared_data, include=sampled_tasks)
    return {"results": results, "proxy": proxy, "journal": journal}


def test_repeats_at_temperature_one_are_distinct_samples(sampled_baseline):
    rows = sampled_baseline["results"]["samples"][SAMPLED_TASK]
    assert len(rows) == LIMIT
    for samples in _resps(rows).values():
        assert len(samples) == REPEATS
        assert len(set(samples)) == REPEATS, samples
    seeds = sorted({exchange.payload["seed"] for exchange in sampled_baseline["proxy"].answered})
    assert seeds == [1234 + k for k in range(REPEATS)]  # lm-eval's seed for the first repeat
    assert len(_journal_rows(sampled_baseline["journal"])) == LIMIT * REPEATS


def test_plain_api_backend_sends_one_seed_so_repeats_come_back_identical(vllm_server, shared_data, sampled_tasks):
    """Why the journal model reseeds repeats: lm-eval's API backends send every request with one seed."""
    with Proxy(vllm_server.port) as proxy:
        results = _evaluate(
            "local-completions", _completions_args(proxy, vllm_server), [SAMPLED_TASK], shared_data, include=sampled_tasks
        )
    assert {exchange.payload["seed"] for exchange in proxy.answered} == {1234}
    for samples in _resps(results["samples"][SAMPLED_TASK]).values():
        assert len(samples) == REPEATS and len(set(samples)) == 1


# ---------------------------------------------------------------- a killed run, resumed


def test_killed_run_resumes_sending_only_what_the_journal_lacks(vllm_server, shared_data, sampled_tasks, sampled_baseline, offline_env, tmp_path):
    journal = tmp_path / "run.journal.jsonl"
    total = LIMIT * REPEATS
    # The proxy answers the first 10 requests and holds the rest: once every answered one is in
    # the journal and the others wait, the run is killed.
    with Proxy(vllm_server.port, hold_after=10) as proxy:
        first = _cli(tmp_path / "first", offline_env, shared_data, sampled_tasks, _completions_args(proxy, vllm_server), journal)
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while not (
                proxy.holding
                and proxy.in_flight == proxy.holding
                and journal.is_file()
                and len(_journal_rows(journal)) == len(proxy.answered)
            ):
                assert first.poll() is None, _tail(tmp_path / "first" / "stderr.log")
                assert time.monotonic() < deadline, "the run did not stall on the held requests in time"
                time.sleep(0.1)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
    kept = len(proxy.answered)
    assert 10 <= kept < total and len(_journal_rows(journal)) == kept
    assert not (tmp_path / "first" / "output").exists()  # killed before any results

    # The same run again (in this process, to spare a second start-up of the lm-eval command), at
    # the same address: the base_url is part of the journal's identity.
    with Proxy(vllm_server.port, port=proxy.port) as proxy:
        model_args = {"backend": "local-completions", "journal": str(journal), **_completions_args(proxy, vllm_server)}
        results = _evaluate("journal", model_args, [SAMPLED_TASK], shared_data, include=sampled_tasks)
    assert proxy.posts == len(proxy.answered) == total - kept  # only what the journal lacked
    assert len(_journal_rows(journal)) == total

    baseline = sampled_baseline["results"]
    assert _scores(results, SAMPLED_TASK) == _scores(baseline, SAMPLED_TASK)
    assert _resps(results["samples"][SAMPLED_TASK]) == _resps(baseline["samples"][SAMPLED_TASK])


# ---------------------------------------------------------------- faults between the harness and the server


def test_errors_drops_and_slow_replies_are_retried(vllm_server, shared_data, sampled_tasks, sampled_baseline, tmp_path):
    journal = tmp_path / "journal.jsonl"
    # A healthy reply takes well under a second; the slow one would come after a minute, long past
    # the 15 s the client waits (the proxy lets it go when the test ends).
    with Proxy(vllm_server.port, ("error", "drop", "slow", "error"), slow_seconds=60.0) as proxy:
        model_args = {
            "backend": "local-completions", "journal": str(journal),
            **_completions_args(proxy, vllm_server, timeout=15, max_retries=3),
        }  # fmt: skip
        results = _evaluate("journal", model_args, [SAMPLED_TASK], shared_data, include=sampled_tasks)
    assert sorted(proxy.injected) == ["drop", "error", "error", "slow"]
    assert len(_journal_rows(journal)) == LIMIT * REPEATS  # one line per request, retried ones too
    baseline = sampled_baseline["results"]
    assert _scores(results, SAMPLED_TASK) == _scores(baseline, SAMPLED_TASK)
    assert _resps(results["samples"][SAMPLED_TASK]) == _resps(baseline["samples"][SAMPLED_TASK])


def test_a_server_that_keeps_failing_ends_in_one_line_and_keeps_the_answered(vllm_server, shared_data, sampled_tasks, offline_env, tmp_path):
    journal, total = tmp_path / "journal.jsonl", LIMIT * REPEATS
    with Proxy(vllm_server.port, fail_after=5) as proxy:
        run = _cli(tmp_path, offline_env, shared_data, sampled_tasks, _completions_args(proxy, vllm_server, max_retries=2), journal)
        code = _finish(run, tmp_path)
    answered = len(proxy.answered)  # 5, and the requests already on their way when the 5th was answered
    assert code == 2 and 5 <= answered < total and "error" in proxy.injected
    last = (tmp_path / "stderr.log").read_text(errors="replace").strip().splitlines()[-1]
    assert last.startswith(f"lm-eval-math500: error: local-completions left {total - answered} of {total} requests unanswered")
    assert "503" in last and f"{answered} generations are kept in {journal}" in last
    assert not (tmp_path / "output").exists()  # no verdict for requests never answered
    # The journal holds exactly the replies the proxy delivered, nothing else.
    delivered = sorted(exchange.reply["choices"][0]["text"] for exchange in proxy.answered)
    assert sorted(row["response"] for row in _journal_rows(journal)) == delivered


def test_without_vllm_these_tests_skip_with_one_line_and_fail_under_ci(tmp_path, offline_env):
    """With vllm hidden from the interpreter, every test here that needs it is skipped with its reason;
    under CI=true each one fails instead."""
    (tmp_path / "sitecustomize.py").write_text('import sys\nsys.modules["vllm"] = None  # import vllm fails\n')
    env = {**offline_env, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), offline_env.get("PYTHONPATH")]))}
    this = f"{Path(__file__).name}::{test_without_vllm_these_tests_skip_with_one_line_and_fail_under_ci.__name__}"
    argv = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", __file__, "--deselect", f"tests/{this}"]
    reason = f"needs vllm, which {sys.executable} cannot import; pip install vllm to run it"
    skipped = subprocess.run(argv, env={**env, "CI": "false"}, capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=600)
    summary = [line for line in skipped.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped.returncode == 0 and summary and all(line.endswith(reason) for line in summary), skipped.stdout[-3000:]
    failed = subprocess.run(argv, env={**env, "CI": "true"}, capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=600)
    assert failed.returncode == 1 and reason in failed.stdout and "SKIPPED" not in failed.stdout, failed.stdout[-3000:]
