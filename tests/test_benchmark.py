"""The benchmark's quick mode runs: its smallest group (queue / audit over a few
generated case folders) prints a verdict line for each of its targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_team_group_runs_and_prints_its_verdicts(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--only", "team",
         "--team-cases", "12", "--cases-dir", str(tmp_path / "cases"),
         "--results-dir", str(tmp_path / "results")],
        capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for target in ("queue --json over 10,000 unchanged cases", "audit --json over 10,000",
                   "queue cold -j 2"):
        line = next(line for line in result.stdout.splitlines() if target in line)
        # 12 cases are not the 10,000 the target is about: no verdict, and it says why.
        assert line.split()[0] == "n/a" and "measured on 12 cases" in line
    data = json.loads((tmp_path / "results" / "quick.json").read_text())
    assert data["cases"]["team"] == 12
    assert {"queue-warm", "audit-warm", "queue-cold-j1", "queue-cold-j2"} <= set(data["scenarios"])
