"""`evidencepack audit`: the lead's report as a table, JSON, CSV and an HTML dashboard.

The dashboard is checked in a real headless Chromium (`--dump-dom` after the
page's script ran; the page applies `#sort=...&type=...` from the address).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidencepack.cli import cli
from tests.conftest import make_case, photo

NOW = "2024-03-13T09:00:00+08:00"
HOSTILE_ID = "<img src=x onerror=alert(1)>"
HOSTILE_TITLE = ("</script><script>document.body.setAttribute('data-pwned','1')</script>"
                 "<!-- & \u2028")
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH: the HTML dashboard is tested in a real "
                             "browser (bash scripts/setup.sh --dev installs it)")

LEAD_CHECKLIST = f"""\
id = "wrong_item"

[[items]]
id = "hostile_item"
title_zh = "{HOSTILE_TITLE}"
title_en = "{HOSTILE_TITLE}"
why_zh = "x"
why_en = "x"
level = "required"
rules = [{{ kind = "evidence_count", evidence = "return_photo", min = 1 }}]
"""


def _opened(case: Path, when: str) -> None:
    toml = case / "case.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "opened_at = 2024-03-12T10:15:00+08:00", f"opened_at = {when}"), encoding="utf-8")


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> tuple[Path, Path]:
    """Six cases with every urgency and three dispute types, one hostile, one broken."""
    base = tmp_path_factory.mktemp("team")
    root = base / "cases"
    _opened(make_case(root, case_id="A-OVERDUE"), "2024-03-10T08:00:00+08:00")     # -25 h
    _opened(make_case(root, case_id="B-DUE24", dispute_type="not_received"),
            "2024-03-11T20:00:00+08:00")                                            # 11 h
    due72 = make_case(root, case_id="C-DUE72", listing=False)                       # 25.2 h
    photo(due72 / "preship" / "IMG_20240309_150300.jpg", when="2024:03:09 15:03:00",
          size=(400, 300), seed=9)  # too small: the photos item is weak
    make_case(root, case_id="D-OK", dispute_type="damaged_in_transit",
              extra_toml="[profile.deadlines]\nrespond_hours = 200\n"
                         "intervention_after_hours = 300\n")                        # 175.2 h
    make_case(root, case_id=HOSTILE_ID, dispute_type="wrong_item")                  # 25.2 h
    broken = root / "E-BROKEN"
    broken.mkdir()
    (broken / "case.toml").write_text("case_id = \n", encoding="utf-8")
    lead = base / "lead"
    lead.mkdir()
    (lead / "wrong_item.toml").write_text(LEAD_CHECKLIST, encoding="utf-8")
    return root, lead


def run(*args: str):
    return CliRunner().invoke(cli, ["audit", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def report(team, tmp_path_factory):
    root, lead = team
    out = tmp_path_factory.mktemp("report")
    result = run(str(root), "--now", NOW, "--checklists", str(lead), "--json",
                 "--csv", str(out / "audit.csv"), "--html", str(out / "audit.html"))
    assert result.exit_code == 0, result.output
    return json.loads(result.output), out


# --- JSON ------------------------------------------------------------------------

def test_json_has_every_case_item_and_deadline(report):
    data, _ = report
    assert data["schema"] == "evidencepack.audit/1"
    cases = data["cases"]
    # Broken first, then most urgent first.
    # Ties (25.2 h) by folder name: "<" sorts before "C".
    assert [c["case_id"] for c in cases] == [None, "A-OVERDUE", "B-DUE24", HOSTILE_ID,
                                             "C-DUE72", "D-OK"]
    assert [c["status"] for c in cases] == ["error", "overdue", "due_24h", "due_72h",
                                            "due_72h", "ok"]
    assert "not valid TOML" in cases[0]["error"]
    by_id = {c["case_id"]: c for c in cases}
    incomplete = by_id["C-DUE72"]
    assert incomplete["complete"] is False and incomplete["score"] < 1
    assert incomplete["first_missing_id"] == "listing_attribute"
    assert {i["id"]: i["status"] for i in incomplete["items"]}["listing_attribute"] == "missing"
    assert [d["name"] for d in incomplete["deadlines"]] == [
        "respond_by", "intervention_possible_at", "evidence_due"]
    assert by_id["A-OVERDUE"]["hours_left"] == -25.0
    assert by_id[HOSTILE_ID]["first_missing"] == HOSTILE_TITLE
    assert data["totals"] == {"cases": 6, "complete": 3, "incomplete": 2, "errors": 1,
                              "overdue": 1, "due_24h": 1, "due_72h": 2}


def test_item_summary_counts_failures_across_cases(report):
    data, _ = report
    summary = {(s["dispute_type"], s["item_id"]): s for s in data["item_summary"]}
    listing = summary[("not_as_described", "listing_attribute")]
    # One case has no listing screenshot; the other's is a blank frame, which shows no
    # attribute once screenshots are read (weak, not met).
    assert (listing["missing"], listing["weak"], listing["cases"]) == (1, 1, 2)
    photos = summary[("not_as_described", "preship_photos")]
    assert (photos["missing"], photos["weak"]) == (0, 1)
    assert summary[("wrong_item", "hostile_item")]["missing"] == 1
    # Sorted by most missing; items nobody fails are not listed.
    missing = [s["missing"] for s in data["item_summary"]]
    assert missing == sorted(missing, reverse=True) and all(
        s["missing"] or s["weak"] for s in data["item_summary"])
    # A group member covered by another member is not a failure.
    assert ("not_as_described", "preship_video") not in summary


# --- CSV -------------------------------------------------------------------------

def test_csv_one_row_per_case_with_item_columns(report):
    data, out = report
    raw = (out / "audit.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == len(data["cases"])
    by_id = {r["case_id"]: r for r in rows}
    c = by_id["C-DUE72"]
    assert c["not_as_described.listing_attribute"] == "missing"
    assert c["not_as_described.preship_photos"] == "weak"
    assert c["not_as_described.preship_video"] == "covered"
    assert c["not_received.tracking_signed"] == ""  # another type's column
    assert c["deadline.respond_by.status"] == "due_72h"
    assert c["deadline.respond_by.at"] == "2024-03-14T10:15:00+08:00"
    assert float(c["deadline.respond_by.hours_left"]) == 25.2
    assert c["complete"] == "false" and c["first_missing_id"] == "listing_attribute"
    assert by_id["B-DUE24"]["status"] == "due_24h"
    assert "商品详情页截图" in c["first_missing"]  # Chinese survives the round trip
    broken = [r for r in rows if r["error"]]
    assert len(broken) == 1 and broken[0]["status"] == "error" and broken[0]["case_id"] == ""
    assert any(k.startswith("wrong_item.") for k in rows[0])


def test_csv_neutralises_formulas(tmp_path):
    root = tmp_path / "cases"
    make_case(root, case_id="=HYPERLINK(1)")
    out = tmp_path / "a.csv"
    assert run(str(root), "--now", NOW, "--csv", str(out)).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0]["case_id"] == "'=HYPERLINK(1)"
    assert float(rows[0]["hours_left"]) == 25.2  # numbers are left alone


# --- terminal and errors -----------------------------------------------------------

def test_terminal_table(team):
    root, lead = team
    result = run(str(root), "--now", NOW, "--lang", "en", "--checklists", str(lead))
    assert result.exit_code == 0, result.output  # incomplete cases are not a failure
    out = result.output
    for text in ("A-OVERDUE", "D-OK", "E-BROKEN", "not valid TOML", "overdue 25 h",
                 "Checklist items that fail most", "listing_attribute", "✗"):
        assert text in out, text
    assert out.index("E-BROKEN") < out.index("A-OVERDUE") < out.index("D-OK")


def test_missing_root_is_bad_input(tmp_path):
    result = CliRunner().invoke(cli, ["audit", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "cases root is not a folder" in result.output


def test_report_is_never_written_into_a_case(team):
    root, _ = team
    result = CliRunner().invoke(cli, ["audit", str(root), "--html",
                                      str(root / "A-OVERDUE" / "audit.html")])
    assert result.exit_code == 2
    assert not (root / "A-OVERDUE" / "audit.html").exists()


def test_empty_root_is_bad_input_with_a_clear_message(tmp_path):
    """An empty table and exit 0 read as "nothing to do" when the path is wrong."""
    out = tmp_path / "a.html"
    result = run(str(tmp_path), "--json", "--html", str(out))
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == (f"evidencepack: error: {tmp_path}: no case folder (one holding "
                             "case.toml) under this folder or one level below it (give the "
                             "folder that holds the case folders)\n")


# --- HTML source -------------------------------------------------------------------

def test_html_is_self_contained_and_embeds_data_safely(report):
    _, out = report
    html = (out / "audit.html").read_text(encoding="utf-8")
    # No network: no external scripts, styles, images, fonts or links.
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b[^>]*\b(src|href)\s*=", html)
    assert "url(" not in html and "@import" not in html and "http" not in html.replace(
        "http-equiv", "")
    # Hostile text only ever appears escaped: it cannot close the data block.
    assert HOSTILE_TITLE not in html and HOSTILE_ID not in html
    assert html.count("</script>") == 3  # the two JSON blocks and the script
    block = re.search(r'<script type="application/json" id="audit-data">(.*?)</script>',
                      html, re.S).group(1)
    assert "<" not in block and ">" not in block and "&" not in block
    data = json.loads(block)
    assert any(c["case_id"] == HOSTILE_ID for c in data["cases"])


# --- HTML in a browser ---------------------------------------------------------------

class _Dom(HTMLParser):
    """The case rows, summary rows, tag names and body attributes of a dumped DOM."""

    def __init__(self):
        super().__init__()
        self.cases: list[dict] = []
        self.summary: list[str] = []
        self.tags: set[str] = set()
        self.body: dict = {}
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "body":
            self.body = attrs
        if tag == "tr" and "data-case" in attrs:
            self.cases.append(attrs)
        if tag == "tr" and "data-item" in attrs:
            self.summary.append(attrs["data-item"])

    def handle_data(self, data):
        self.text.append(data)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)


def dom(html: Path, tmp_path: Path, fragment: str = "") -> _Dom:
    url = html.as_uri() + (f"#{fragment}" if fragment else "")
    done = _chromium(tmp_path, "--dump-dom", url)
    assert done.returncode == 0 and "</html>" in done.stdout, done.stderr[-2000:]
    parsed = _Dom()
    parsed.feed(done.stdout)
    assert parsed.body.get("data-sort"), "the page's script did not run"
    return parsed


@needs_chromium
def test_browser_sorts_by_deadline_and_completeness(report, tmp_path):
    _, out = report
    page = dom(out / "audit.html", tmp_path)  # default: deadline, most urgent first
    ids = [r["data-case"] for r in page.cases]
    assert ids[0] == "E-BROKEN"  # broken cases stay on top whatever the order
    assert ids[1:] == ["A-OVERDUE", "B-DUE24", HOSTILE_ID, "C-DUE72", "D-OK"]
    hours = [float(r["data-hours"]) for r in page.cases[1:]]
    assert hours == sorted(hours)
    assert [r["data-status"] for r in page.cases[1:3]] == ["overdue", "due_24h"]
    # Colour classes for overdue / within 24 h / within 72 h.
    assert [r["class"].split()[-1] for r in page.cases[1:5]] == [
        "st-overdue", "st-due_24h", "st-due_72h", "st-due_72h"]

    page = dom(out / "audit.html", tmp_path, "sort=deadline&dir=desc")
    assert [r["data-case"] for r in page.cases][1] == "D-OK"

    page = dom(out / "audit.html", tmp_path, "sort=score&dir=asc")
    scores = [float(r["data-score"]) for r in page.cases[1:]]
    assert scores == sorted(scores) and scores[0] < 1 and page.body["data-sort"] == "score:asc"
    page = dom(out / "audit.html", tmp_path, "sort=score&dir=desc")
    scores = [float(r["data-score"]) for r in page.cases[1:]]
    assert scores == sorted(scores, reverse=True)


@needs_chromium
def test_browser_filters_by_type_and_status(report, tmp_path):
    _, out = report
    page = dom(out / "audit.html", tmp_path, "type=not_as_described")
    assert {r["data-type"] for r in page.cases} == {"not_as_described"}
    assert sorted(r["data-case"] for r in page.cases) == ["A-OVERDUE", "C-DUE72"]
    # The item summary follows the type filter.
    assert page.summary and all(s.startswith("not_as_described.") for s in page.summary)

    page = dom(out / "audit.html", tmp_path, "status=overdue")
    assert [r["data-case"] for r in page.cases] == ["A-OVERDUE"]
    page = dom(out / "audit.html", tmp_path, "status=error")
    assert [r["data-case"] for r in page.cases] == ["E-BROKEN"]
    page = dom(out / "audit.html", tmp_path, "type=not_received&complete=incomplete")
    assert page.cases == []
    assert "没有符合条件的案件" in "".join(page.text)


@needs_chromium
def test_browser_shows_hostile_text_as_text(report, tmp_path):
    _, out = report
    page = dom(out / "audit.html", tmp_path, "type=wrong_item")
    text = "".join(page.text)
    assert HOSTILE_ID in text  # shown literally ...
    assert "img" not in page.tags and "data-pwned" not in page.body  # ... never run
    assert HOSTILE_TITLE.split("<!--")[0] in text
    assert [r["data-case"] for r in page.cases] == [HOSTILE_ID]


@needs_chromium
def test_browser_screenshot(report, tmp_path):
    _, out = report
    shot = tmp_path / "audit.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,900",
                     "--hide-scrollbars", (out / "audit.html").as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000  # a drawn page, not blank
