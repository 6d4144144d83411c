"""Where the tests find their data: without the shared folder, one-line skips; under CI, failures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_DATA_ENV

TESTS = Path(__file__).resolve().parent

# Tests that use the suite's data fixtures the way the real tests do.
PROBE = '''
import datasets


def test_needs_published_runs(shared_data):
    assert (shared_data / "published_runs").is_dir()


def test_needs_math500(dataset_docs):
    assert len(dataset_docs("math500")) == 500


def test_gsm8k_comes_from_the_hub_when_it_answers(dataset_docs, monkeypatch):
    rows = [{"question": "What is 1 + 1?", "answer": "1 + 1 = 2\\n#### 2"}]
    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: datasets.Dataset.from_list(rows))
    (doc,) = dataset_docs("gsm8k")
    assert doc["answer"] == "2" and doc["problem"] == "What is 1 + 1?"
'''


def run_probe(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess:
    """pytest on the probe with the suite's conftest, the shared folder empty and the hub unreachable."""
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "LM_EVAL_MATH500_DATA_DIR")}
    env.update(
        {
            SHARED_DATA_ENV: str(empty),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HOME": str(tmp_path / "hf_home"),  # no cached copy of any dataset either
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")])),
        }
    )
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-rsfE", "-q", "-p", "no:cacheprovider", "test_probe.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_without_shared_data_the_data_tests_skip_with_one_line_each(tmp_path):
    result = run_probe(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed, 2 skipped" in result.stdout
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 2
    assert all(f"set {SHARED_DATA_ENV}=DIR" in line for line in skips)
    assert any("needs graderbench/ and published_runs/ of the shared data folder" in line for line in skips)
    assert any("math500 is not in the shared data folder and the hub cannot be reached" in line for line in skips)


@pytest.mark.slow
def test_under_ci_missing_data_fails_instead_of_skipping(tmp_path):
    result = run_probe(tmp_path, ci=True)
    assert result.returncode == 1
    # A fixture that fails makes its test an error; the one in the test body a failure.
    assert "1 failed, 1 passed, 1 error" in result.stdout
    assert "skipped" not in result.stdout
    failures = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert len(failures) == 2 and all(f"set {SHARED_DATA_ENV}=DIR" in line for line in failures)


@pytest.mark.slow
def test_the_suite_is_collected_without_the_shared_folder(tmp_path):
    """No test module reads the shared folder when it is imported, so without it every test is collected
    (and those that need it skip when they run)."""
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env[SHARED_DATA_ENV] = str(tmp_path / "absent")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p", "no:cacheprovider", str(TESTS)],
        cwd=TESTS.parent, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.fullmatch(r"\d+ tests collected in [\d.]+s", result.stdout.splitlines()[-1]), result.stdout[-3000:]
