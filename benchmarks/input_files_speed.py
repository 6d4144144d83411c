"""Reading a large samples file, side by side: this project's reader and two other ways to check it.

The file is made here, as a sampled run of ``--repeats`` writes it: ``--problems`` rows, each with
``--repeats`` responses of about ``--chars`` characters and a logged record per response. Each way
reads every row and checks the fields analysis reads, with their types:

- ``reader``: ``input_files.read_samples_rows`` (msgspec: decode, check the row's schema, its metric
  values and every record);
- ``json``: the json module and hand-written checks of the same fields and records;
- ``pydantic``: pydantic's strict models of the same schema, validating each line from its JSON and
  each record (when pydantic is installed; it is not one of this project's dependencies).

Each way reads the file ``--rounds`` times, alternating, and the table shows the median time, and
each as a multiple of the reader's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lm_eval_math500.harness.input_files import read_samples_rows  # noqa: E402
from lm_eval_math500.harness.records import Record  # noqa: E402

RECORD = str(Record("\\frac{1}{2}", True, tokens=812, max_gen_toks=4096, version="3.0", correct=True, verdict=True, reason="same string", timed_out=False))


def write_file(path: Path, problems: int, repeats: int, chars: int) -> None:
    """A samples file of ``problems`` rows with ``repeats`` responses each."""
    with path.open("w", encoding="utf-8") as handle:
        for i in range(problems):
            row = {
                "doc_id": i,
                "doc": {"problem": f"Problem {i}: " + "x" * 300, "solution": "s" * 800, "answer": "\\frac{1}{2}",
                        "subject": "Algebra", "level": 1 + i % 5, "unique_id": f"test/algebra/{i}.json"},
                "target": "\\frac{1}{2}",
                "arguments": {"gen_args_0": {"arg_0": "q" * 400, "arg_1": {"until": [], "max_gen_toks": 4096}}},
                "resps": [[f"{k} " + "thinking " * (chars // 9) for k in range(repeats)]],
                "filtered_resps": [[RECORD] * repeats],
                "filter": "extract", "metrics": ["accuracy", "format_ok"],
                "doc_hash": "a" * 64, "prompt_hash": "b" * 64, "target_hash": "c" * 64, "accuracy": 0.5, "format_ok": 1.0,
            }  # fmt: skip
            handle.write(json.dumps(row) + "\n")


def read_with_json(path: Path) -> int:
    """json.loads per line, and hand-written checks of what the reader checks."""
    rows = 0
    fields = set(Record().to_dict())
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            assert isinstance(row, dict) and type(row["doc_id"]) is int and isinstance(row["filter"], str)
            doc = row["doc"]
            assert isinstance(doc["problem"], str) and isinstance(doc["answer"], str)
            assert doc.get("level") is None or type(doc["level"]) is int
            for name in ("resps", "filtered_resps"):
                assert row[name] and all(group and all(isinstance(t, str) for t in group) for group in row[name])
            for name in row.get("metrics", []):
                assert type(row[name]) in (int, float)
            for group in row["filtered_resps"]:
                for text in group:
                    record = json.loads(text)
                    assert fields <= set(record) and type(record["format_ok"]) is bool
                    assert record["correct"] is None or type(record["correct"]) is bool
                    assert record["tokens"] is None or type(record["tokens"]) is int
            rows += 1
    return rows


def pydantic_reader() -> Callable[[Path], int] | None:
    """Strict pydantic models of the same schema, or None without pydantic."""
    try:
        import pydantic
    except ImportError:
        return None
    strict = pydantic.ConfigDict(strict=True)

    class Doc(pydantic.BaseModel):
        model_config = strict
        problem: str
        answer: str
        level: int | None = None
        subject: str | None = None
        unique_id: str | None = None

    class Row(pydantic.BaseModel):
        model_config = strict
        doc_id: int
        doc: Doc
        filter: str
        resps: list[list[str]]
        filtered_resps: list[list[str]]
        metrics: list[str] = []
        accuracy: float | None = None

    class Logged(pydantic.BaseModel):
        model_config = strict
        answer: str | None
        format_ok: bool
        unfinished: bool
        budget_reached: bool
        tokens: int | None
        max_gen_toks: int | None
        version: str | None
        correct: bool | None
        verdict: bool | None
        reason: str | None
        timed_out: bool | None

    def read(path: Path) -> int:
        rows = 0
        with path.open("rb") as handle:
            for line in handle:
                row = Row.model_validate_json(line)
                for group in row.filtered_resps:
                    for text in group:
                        Logged.model_validate_json(text)
                rows += 1
        return rows

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=64)
    parser.add_argument("--chars", type=int, default=1000, help="characters per response")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    ways: dict[str, Callable[[Path], int]] = {"reader": lambda p: len(read_samples_rows(p)), "json": read_with_json}
    if (read := pydantic_reader()) is not None:
        ways["pydantic"] = read
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "samples_math500_boxed_n64_2026.jsonl"
        write_file(path, options.problems, options.repeats, options.chars)
        size = path.stat().st_size / 1e6
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(options.rounds):
            for name, read in ways.items():
                started = time.perf_counter()
                assert read(path) == options.problems
                times[name].append(time.perf_counter() - started)
    base = statistics.median(times["reader"])
    print(f"{options.problems} problems x {options.repeats} samples, {size:.0f} MB, median of {options.rounds} rounds\n")
    print("| way | seconds | x reader |\n|---|---|---|")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"| {name} | {median:.2f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
