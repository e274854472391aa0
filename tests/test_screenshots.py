"""Screenshots read by OCR: a chat that exists only as screenshots is judged as its
export is, listing screenshots answer what they show, tracking screenshots give
events. Real OCR (the `ocr` extra, which setup.sh installs) on small generated images."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from evidencepack.inputs.chat import parse_chat_file
from evidencepack.pipeline import Options, analyse
from tests.conftest import REPO, SAMPLES

sys.path.insert(0, str(REPO / "corpus" / "screenshots"))
import draw  # noqa: E402

NOW = datetime.fromisoformat("2024-04-20T09:00:00+08:00")


def _says(case_dir: Path) -> list[draw.Say]:
    from evidencepack.case import read_case
    case = read_case(case_dir)[0]
    [export] = list((case_dir / "chat").iterdir())
    log = parse_chat_file(export, export.name, tz=case.tz, seller_nicks=case.seller.nicks,
                          shop=case.seller.shop, buyer_nick=case.buyer.nick)
    return [draw.Say(m.role.value, m.at, m.text, "image" if m.kind == "image" else "text")
            for m in log.messages]


def _as_screenshots(sample: str, tmp_path: Path, layout: str) -> tuple[Path, Path]:
    """The sample case, and a copy whose chat/ holds only screenshots of the same chat."""
    original = tmp_path / "export"
    shutil.copytree(SAMPLES / sample, original)
    shots_case = tmp_path / "screens"
    shutil.copytree(SAMPLES / sample, shots_case)
    from evidencepack.case import read_case
    case = read_case(original)[0]
    says = _says(original)
    shutil.rmtree(shots_case / "chat")
    if layout == "phone":
        shots = draw.chat_phone(says, title=case.buyer.nick)
    else:
        shots = draw.chat_workbench(says, buyer=case.buyer.nick, seller=case.seller.nicks[0],
                                    style=draw.Style(width=1100, height=1400, size=17))
    last = says[-1].at + timedelta(minutes=5)
    for n, shot in enumerate(shots):
        at = last + timedelta(seconds=n)
        draw.save(shot.image, shots_case / "chat" / f"Screenshot_{at:%Y-%m-%d-%H-%M-%S}.png")
    return original, shots_case


def _verdicts(case_dir: Path) -> dict[str, str]:
    analysis = analyse(case_dir, Options(now=NOW))
    return {item.id: item.status for item in analysis.report.items}


@pytest.mark.parametrize("sample,layout", [("not-received", "phone"),
                                           ("colour-mismatch", "workbench")])
def test_a_chat_only_in_screenshots_gets_the_verdicts_of_its_export(sample, layout, tmp_path):
    original, screens = _as_screenshots(sample, tmp_path, layout)
    exported = analyse(original, Options(now=NOW))
    read = analyse(screens, Options(now=NOW))
    assert {m.read_from for m in read.chat.messages} == {"screenshot"}
    assert all(m.confidence and m.confidence > 0.8 for m in read.chat.messages)
    tagged = {t: n for t, n in exported.chat_counts.items() if n and t != "chat_messages"}
    assert tagged, "the sample's chat must carry tags for the comparison to mean anything"
    assert {t: read.chat_counts.get(t) for t in tagged} == tagged
    assert _verdicts(screens) == _verdicts(original)
