"""The documented shape of every `--json` output, as pydantic models.

docs/schemas/<name>.schema.json are generated from these models
(``python -m evidencepack.schemas docs/schemas``); tests/test_schemas.py checks
that the files are current and that real output validates against them. Each
output carries ``schema`` = ``evidencepack.<name>/<version>``: a script checks it
before it reads the rest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evidencepack.judge.checklist import Checklist
from evidencepack.pack.pageimages import PageImage
from evidencepack.pack.render import PackResult
from evidencepack.team.agents import AgentSummary
from evidencepack.team.audit import AuditRow, ItemSummary
from evidencepack.team.history import HistoryPoint


class _Out(BaseModel):
    # An output with a key the schema does not name fails the tests: the schema
    # and the code cannot drift apart unnoticed.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CheckItem(_Out):
    id: str
    title: str
    level: str
    group: str | None
    status: Literal["met", "weak", "missing", "not_applicable"]
    group_met: bool | None
    reasons: list[str]
    evidence: list[str]


class CheckDeadline(_Out):
    name: str
    at: str | None
    status: str
    hours_left: float | None
    source: str
    assumed: bool
    everyday_at: str | None


class CheckEvidence(_Out):
    label: str
    path: str
    kind: str
    doc_type: str | None
    sha256: str
    captured_at: str | None
    time_source: str
    problems: list[str]


class CheckOutput(_Out):
    schema_: Literal["evidencepack.check/1"] = Field(alias="schema")
    case_id: str
    case_dir: str
    platform: str
    dispute_type: str
    dispute_type_name: str
    complete: bool
    score: float
    items: list[CheckItem]
    deadlines: list[CheckDeadline]
    facts: dict[str, Any]
    next_action: str
    warnings: list[str]
    evidence: list[CheckEvidence]
    now: str


class BuildOutput(_Out, PackResult):
    # What build_pack returns, and what `build` adds to it.
    schema_: Literal["evidencepack.build/1"] = Field(alias="schema")
    worksheet: str
    images: list[PageImage]
    images_left_out: list[int]
    upload_plan: str | None
    complete: bool
    score: float


class QueueRow(_Out):
    case_dir: str
    case_id: str | None
    dispute_type: str | None
    complete: bool | None
    score: float | None
    next_deadline: str | None
    next_deadline_at: str | None
    status: str
    hours_left: float | None
    first_missing_id: str | None
    first_missing: str | None
    error: str | None
    assignee: str | None


class QueueOutput(_Out):
    schema_: Literal["evidencepack.queue/1"] = Field(alias="schema")
    root: str
    now: str
    cases: list[QueueRow]


class AuditOutput(_Out):
    schema_: Literal["evidencepack.audit/1"] = Field(alias="schema")
    root: str
    now: str
    totals: dict[str, int]
    cases: list[AuditRow]
    item_summary: list[ItemSummary]
    agents: list[AgentSummary]
    reply_targets: dict[str, Any]
    history: list[HistoryPoint]


class ChecklistEntry(_Out):
    id: str
    name_zh: str
    name_en: str
    items: int


class ChecklistsOutput(_Out):
    schema_: Literal["evidencepack.checklists/1"] = Field(alias="schema")
    checklists: list[ChecklistEntry]


class ChecklistOutput(Checklist):
    schema_: Literal["evidencepack.checklist/1"] = Field(alias="schema")


OUTPUTS: dict[str, type[BaseModel]] = {
    "check": CheckOutput, "build": BuildOutput, "queue": QueueOutput, "audit": AuditOutput,
    "checklists": ChecklistsOutput, "checklist": ChecklistOutput,
}


def json_schemas() -> dict[str, str]:
    """File name -> the JSON Schema text of each output."""
    out = {}
    for name, model in OUTPUTS.items():
        schema = model.model_json_schema(by_alias=True, mode="serialization")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                  "$id": f"evidencepack.{name}/1", **schema}
        out[f"{name}.schema.json"] = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
    return out


def main(argv: list[str]) -> None:  # pragma: no cover - a maintainer's tool
    folder = Path(argv[0] if argv else "docs/schemas")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in json_schemas().items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
