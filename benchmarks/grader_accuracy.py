"""Agreement with human labels on graderbench for our grader, Math-Verify 0.9 and string matching.

PRM800K rows: each grader gets `model_answer` (already extracted) and the gold answer
(Math-Verify gets both inside `$...$`, which its LaTeX extraction needs).
ProcessBench rows: each grader gets the whole `model_solution` (our grader with variant
question_only). Our grader also gets the problem text, so form requirements can be checked.
Rows audited as `suspect_label`, `label_conflict` (labels that contradict each other) or
`ambiguous` are left out: what remains are the consistent rows.

Each file is split by problem into a development part, which grading rules may be written
against, and a frozen test part, which they may not: a problem (its whitespace-normalised text)
belongs to the test part when the SHA-256 of `SPLIT_SEED` and the text is odd. The headline
accuracy is the test part's; disagreements are listed for the development part only (`--list-test`
lists the test part's too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

from math_verify import parse, verify

from lm_eval_math500 import Verdict, extract_answer, grade, grade_answer

FILES = ("prm800k_labelled.jsonl", "processbench_labelled.jsonl")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "graderbench"
LEFT_OUT = ("suspect_label", "label_conflict", "ambiguous")
SPLIT_SEED = "graderbench-split-1"
PARTS = ("dev", "test")


def load_rows(data: Path, name: str) -> list[dict]:
    """The consistent rows of one graderbench file: without those whose label the audit distrusts,
    finds ambiguous, or that contradict other rows."""
    rows = [json.loads(line) for line in (data / name).open()]
    return [r for r in rows if not (r.get("audit") or "").startswith(LEFT_OUT)]


def part(row: dict) -> str:
    """`dev` or `test`: the part of graderbench a row's problem belongs to (the same in both files)."""
    key = f"{SPLIT_SEED}:{' '.join(row['problem'].split())}"
    return PARTS[int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2]


def ours(row: dict) -> Verdict:
    """Our verdict, with the prediction it graded and the rule that decided."""
    if "model_answer" in row:
        return grade_answer(row["model_answer"], row["gold_answer"], problem=row["problem"])
    return grade(row["model_solution"], row["gold_answer"], variant="question_only", problem=row["problem"])


def math_verify(row: dict) -> bool:
    """Math-Verify 0.9 with its default configs; gold and a bare extracted answer go in `$...$`."""
    pred = f"${row['model_answer']}$" if "model_answer" in row else row["model_solution"]
    gold = parse(f"${row['gold_answer']}$")
    return bool(verify(gold, parse(pred)))


def _plain(text: str) -> str:
    for pattern in (r"\\left|\\right|\\!|\\,|\$|\s", r"\\text\{([^{}]*)\}", r"\\[dt]frac"):
        text = re.sub(pattern, lambda m: m.group(1) if m.groups() else ("\\frac" if "frac" in m.group(0) else ""), text)
    return text.rstrip(".")


def string_match(row: dict) -> bool:
    """Plain string normalisation (spaces, $, \\text, \\left/\\right, dfrac) then equality."""
    pred = row.get("model_answer") or extract_answer(row["model_solution"], "question_only") or ""
    return _plain(pred) == _plain(row["gold_answer"])


def reason(row: dict, verdict: Verdict) -> str:
    """Why our verdict is what it is (the grader's own reason), with the audit note if the row has one."""
    audit = (row.get("audit") or "").split(":")[0]
    return f"{verdict.reason}; audit: {audit}" if audit else verdict.reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--list-test", action="store_true", help="also list the test part's disagreements")
    args = parser.parse_args()
    columns = []
    misses = []
    for name in FILES:
        rows = load_rows(args.data, name)
        for which in reversed(PARTS):
            chosen = [r for r in rows if part(r) == which]
            hits = {"ours": 0, "math-verify": 0, "string": 0}
            for row in chosen:
                verdict = ours(row)
                hits["ours"] += verdict.correct == row["label"]
                hits["math-verify"] += math_verify(row) == row["label"]
                hits["string"] += string_match(row) == row["label"]
                if verdict.correct != row["label"] and (which == "dev" or args.list_test):
                    misses.append((which, row, verdict))
            columns.append((f"{name.split('_')[0]} {which}", len(chosen), hits))
    print(f"| grader | {' | '.join(f'{n} ({k} rows)' for n, k, _ in columns)} |")
    print("|---|" + "---|" * len(columns))
    for grader in ("ours", "math-verify", "string"):
        cells = " | ".join(f"{h[grader] / k:.2%} ({k - h[grader]} wrong)" for _, k, h in columns)
        print(f"| {grader} | {cells} |")
    print(f"\n{len(misses)} disagreements of ours with the label{'' if args.list_test else ' (dev part)'}:")
    for which, row, verdict in misses:
        print(f"- [{which}] {row['id']} label={row['label']} ours={verdict.correct} gold={row['gold_answer']!r} "
              f"pred={(verdict.pred or '')[:60]!r}: {reason(row, verdict)}")


if __name__ == "__main__":
    main()
