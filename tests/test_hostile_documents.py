"""Hostile PDF documents appended to a pack (reports/): active content, broken pages, bombs.

An appended page keeps what it draws and nothing it could do: no script,
launch or link action, no embedded file, no form field reaches the pack. A PDF
that cannot be appended is an exhibit with its problem on it, like a broken photo.
docs/bad-input.md lists every case with its outcome.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject,
                           IndirectObject, NameObject, NumberObject, TextStringObject)

from evidencepack.cli import cli
from tests.conftest import GENERATED_AT, NOW, REPO, make_case, tree_digest

MARK = "APPENDED-MARK"


def _d(**items) -> DictionaryObject:
    return DictionaryObject({NameObject("/" + k): v for k, v in items.items()})


def _stream(w: PdfWriter, data: bytes, **extra) -> IndirectObject:
    s = DecodedStreamObject()
    s.set_data(data)
    s.update({NameObject("/" + k): v for k, v in extra.items()})
    return w._add_object(s)


def _rect(*r) -> ArrayObject:
    return ArrayObject([NumberObject(x) for x in r])


def _page(w: PdfWriter, text: str = MARK, box=None):
    page = w.add_blank_page(595, 842)
    font = w._add_object(_d(Type=NameObject("/Font"), Subtype=NameObject("/Type1"),
                            BaseFont=NameObject("/Helvetica")))
    page[NameObject("/Resources")] = _d(Font=_d(F1=font))
    page[NameObject("/Contents")] = _stream(w, f"BT /F1 24 Tf 72 700 Td ({text}) Tj ET".encode())
    if box == "missing":
        del page[NameObject("/MediaBox")]
    elif box is not None:
        page[NameObject("/MediaBox")] = ArrayObject(box)
    return page


def _bytes(w: PdfWriter) -> bytes:
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def hostile_pdf() -> bytes:
    """One page drawing MARK, carrying every active thing a PDF can carry."""
    w = PdfWriter()
    page = _page(w)
    js = w._add_object(_d(Type=NameObject("/Action"), S=NameObject("/JavaScript"),
                          JS=TextStringObject("app.alert('pwned')")))
    actions = [js,
               _d(S=NameObject("/Launch"), F=TextStringObject("calc.exe")),
               _d(S=NameObject("/URI"), URI=TextStringObject("https://taobao.com.evil.example/"))]
    annots = ArrayObject(w._add_object(_d(Type=NameObject("/Annot"), Subtype=NameObject("/Link"),
                                          Rect=_rect(72, 690, 300, 720), A=a)) for a in actions)
    payload = _stream(w, b"MZ payload", Type=NameObject("/EmbeddedFile"))
    annots.append(w._add_object(_d(
        Type=NameObject("/Annot"), Subtype=NameObject("/FileAttachment"), Rect=_rect(72, 600, 90, 620),
        FS=_d(Type=NameObject("/Filespec"), F=TextStringObject("payload.exe"), EF=_d(F=payload)))))
    widget = w._add_object(_d(Type=NameObject("/Annot"), Subtype=NameObject("/Widget"),
                              FT=NameObject("/Btn"), T=TextStringObject("go"),
                              Rect=_rect(72, 500, 200, 530), AA=_d(U=js)))
    annots.append(widget)
    page[NameObject("/Annots")] = annots
    page[NameObject("/AA")] = _d(O=js)
    # A script hidden in the resources too: a form XObject carrying an action.
    page["/Resources"][NameObject("/XObject")] = _d(X1=_stream(w, b"", Type=NameObject("/XObject"),
                                                              Subtype=NameObject("/Form"),
                                                              BBox=_rect(0, 0, 1, 1), AA=_d(O=js)))
    root = w._root_object
    root[NameObject("/AcroForm")] = _d(Fields=ArrayObject([widget]))
    root[NameObject("/OpenAction")] = js
    root[NameObject("/Names")] = _d(JavaScript=_d(Names=ArrayObject([TextStringObject("x"), js])))
    w.add_attachment("payload.exe", b"MZ document level")
    return _bytes(w)


def flate_bomb(decoded_mb: int) -> bytes:
    """A one-page PDF whose content stream inflates to ``decoded_mb`` MB of spaces."""
    w = PdfWriter()
    page = _page(w)
    z = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    data = b"".join(z.compress(chunk) for _ in range(decoded_mb)) + z.flush()
    s = DecodedStreamObject()
    s._data = data
    s[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = w._add_object(s)
    return _bytes(w)


def box_pdf(box) -> bytes:
    w = PdfWriter()
    _page(w, box=box)
    return _bytes(w)


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


def build(tmp_path: Path, files: dict[str, bytes], *extra) -> tuple[Path, dict, Path]:
    case = make_case(tmp_path / "cases", photos=1)
    for name, data in files.items():
        (case / "reports" / name).write_bytes(data)
    before = tree_digest(case)
    out = tmp_path / "pack.pdf"
    result = run("build", case, "-o", out, "--now", NOW, "--generated-at", GENERATED_AT,
                 "--json", *extra)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # pypdf's log lines are not ours to print
    assert tree_digest(case) == before
    return out, json.loads(result.stdout), case


ACTIVE = {"/JavaScript", "/JS", "/Launch", "/URI", "/SubmitForm", "/ImportData", "/GoToR",
          "/GoToE", "/AcroForm", "/OpenAction", "/AA", "/RichMedia"}


def active_things(path: Path) -> list[str]:
    """Every name or key in the whole object graph that makes a PDF act, and every
    annotation other than an internal link."""
    reader = PdfReader(path)
    found, seen, stack = [], set(), [reader.trailer]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if node.idnum in seen:
                continue
            seen.add(node.idnum)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            if node.get("/Type") == "/Annot" or node.get("/Subtype") in ("/Link", "/Widget",
                                                                           "/FileAttachment"):
                action = node.get("/A")
                if node.get("/Subtype") != "/Link" or (
                        action is not None and action.get_object().get("/S") != "/GoTo"):
                    found.append(f"annotation {node.get('/Subtype')}")
            found += [k for k in node if k in ACTIVE]
            found += [str(v) for v in node.values() if isinstance(v, NameObject) and v in ACTIVE]
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return found


def pdftext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()


def test_appended_pdf_keeps_its_drawing_and_nothing_active(tmp_path):
    source = tmp_path / "hostile.pdf"
    source.write_bytes(hostile_pdf())
    assert len(active_things(source)) > 10  # the test file really carries it all
    out, _, _ = build(tmp_path, {"report.pdf": source.read_bytes()})
    assert active_things(out) == []
    reader = PdfReader(out)
    assert list(reader.attachments) == ["manifest.json"]
    assert "/AcroForm" not in reader.trailer["/Root"]
    assert MARK in pdftext(out)  # what the page draws is still there
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
        assert re.search(r"^JavaScript:\s+no$", info, re.M) and re.search(r"^Form:\s+none$", info, re.M)


@pytest.mark.parametrize("box, problem", [
    ("missing", "a page has no MediaBox (page size)"),
    ([NumberObject(0)] * 4, "a page has a zero or invalid size (0 × 0 pt)"),
    ([NumberObject(0), NumberObject(0), TextStringObject("abc"), NumberObject(842)],
     "a page's MediaBox is not an array of four numbers"),
    ([NumberObject(0), NumberObject(0), FloatObject(1e9), NumberObject(842)],
     "a page is larger than PDF allows (1e+09 × 842 pt)"),
])
def test_bad_page_box_is_an_exhibit_with_its_problem(tmp_path, box, problem):
    out, data, _ = build(tmp_path, {"bad.pdf": box_pdf(box), "good.pdf": box_pdf(None)})
    text = pdftext(out)
    assert problem in text.replace("\n", " ")
    assert text.count(MARK) == 1  # the good document is still appended
    assert f"reports/bad.pdf: {problem}" in data["warnings"]


def test_flate_bomb_is_refused_within_the_memory_it_takes_to_notice(tmp_path):
    bomb = flate_bomb(300)
    assert len(bomb) < 1_000_000
    out, data, _ = build(tmp_path, {"bomb.pdf": bomb})
    problem = "a page decodes to more than 16 MB (possible decompression bomb)"
    assert f"reports/bomb.pdf: {problem}" in data["warnings"]
    assert problem in pdftext(out).replace("\n", " ")


def test_pdf_with_a_broken_xref_is_appended_without_pypdf_log_lines(tmp_path):
    """In a real process (pytest's log capture would hide pypdf's lines from CliRunner)."""
    case = make_case(tmp_path / "cases", photos=0)
    damaged = box_pdf(None).replace(b"startxref\n", b"startxref\n9").replace(b"xref", b"xrex", 1)
    (case / "reports" / "xref.pdf").write_bytes(damaged)
    out = tmp_path / "pack.pdf"
    proc = subprocess.run([sys.executable, "-m", "evidencepack", "build", str(case), "-o", str(out),
                           "--now", NOW, "--json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert MARK in pdftext(out)


def test_an_action_in_resources_inherited_from_the_page_tree_is_stripped_too(tmp_path):
    """Resources may sit on the /Pages node rather than the page; a form XObject there
    carrying a script must not reach the pack either."""
    w = PdfWriter()
    page = w.add_blank_page(595, 842)
    page.pop(NameObject("/Resources"), None)
    font = w._add_object(_d(Type=NameObject("/Font"), Subtype=NameObject("/Type1"),
                            BaseFont=NameObject("/Helvetica")))
    js = w._add_object(_d(Type=NameObject("/Action"), S=NameObject("/JavaScript"),
                          JS=TextStringObject("app.alert('inherited')")))
    form = _stream(w, b"", Type=NameObject("/XObject"), Subtype=NameObject("/Form"),
                   BBox=_rect(0, 0, 1, 1), AA=_d(O=js))
    w._root_object["/Pages"].get_object()[NameObject("/Resources")] = _d(Font=_d(F1=font),
                                                                         XObject=_d(X1=form))
    page[NameObject("/Contents")] = _stream(w, f"BT /F1 24 Tf 72 700 Td ({MARK}) Tj ET /X1 Do"
                                            .encode())
    source = tmp_path / "inherited.pdf"
    source.write_bytes(_bytes(w))
    assert active_things(source)
    out, _, _ = build(tmp_path, {"inherited.pdf": source.read_bytes()})
    assert active_things(out) == []
    assert MARK in pdftext(out)
