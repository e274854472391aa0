"""`build --jobs N` uses N workers in every stage: hashing and probing the
evidence, preparing the photos, laying the pack out; without it, the usable cores."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from evidencepack.inputs import evidence
from evidencepack.pack import parallel, view
from evidencepack import workers
from evidencepack.cli import cli
from tests.conftest import GENERATED_AT, NOW, make_case
from tests.test_parallel import chat


@pytest.fixture
def stages(monkeypatch):
    """Workers seen per stage: threads of each thread pool; layout processes, this
    one and those it forked."""
    seen = {"gather": [], "prepare": [], "layout": 1}

    def pool_for(stage, real):
        class Pool(real):
            def __init__(self, max_workers=None, **kwargs):
                seen[stage].append(max_workers)
                super().__init__(max_workers=max_workers, **kwargs)
        return Pool

    monkeypatch.setattr(evidence, "ThreadPoolExecutor",
                        pool_for("gather", evidence.ThreadPoolExecutor))
    monkeypatch.setattr(view, "ThreadPoolExecutor",
                        pool_for("prepare", view.ThreadPoolExecutor))

    class Child(parallel._Child):
        def __init__(self, *args):
            seen["layout"] += 1
            super().__init__(*args)

    monkeypatch.setattr(parallel, "_Child", Child)
    # Any pack with enough sections would be laid out in pieces.
    monkeypatch.setattr(parallel, "MIN_COST", 0)
    return seen


def build(tmp_path, *extra):
    case = make_case(tmp_path / "cases", chat=chat(300), photos=2)
    result = CliRunner().invoke(cli, ["build", str(case), "-o", str(tmp_path / "p.pdf"),
                                      "--now", NOW, "--generated-at", GENERATED_AT, *extra])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_jobs_n_is_n_in_every_stage(tmp_path, stages, jobs):
    build(tmp_path, "-j", str(jobs))
    assert stages == {"gather": [jobs], "prepare": [jobs], "layout": jobs}


def test_without_jobs_every_stage_uses_the_usable_cores(tmp_path, stages, monkeypatch):
    # Three cores allowed to this process, whatever the machine has.
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: {0, 1, 2})
    build(tmp_path)
    assert stages == {"gather": [3], "prepare": [3], "layout": 3}
