"""Evidence content is hostile: it is escaped, and the renderer fetches nothing
but the case's prepared files."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidencepack.cli import cli
from evidencepack.pipeline import analyse
from evidencepack.options import BuildOptions
from evidencepack.pack.render import build_pack
from tests.conftest import CHAT, GENERATED_AT, make_case, pdf_text


@pytest.fixture
def server():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"img{}")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], hits
    httpd.shutdown()


def test_hostile_chat_text_is_literal_and_fetches_nothing(tmp_path, server):
    port, hits = server
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for the pack")
    hostile = (f'<img src="file://{secret}"> <link rel="stylesheet" '
               f'href="http://127.0.0.1:{port}/x.css"> <script>alert(1)</script>')
    chat = CHAT + f"2024-03-12 10:22:00 小王爱购物\n{hostile}\n"
    case = make_case(tmp_path / "cases", chat=chat)
    out = tmp_path / "p.pdf"
    result = CliRunner().invoke(cli, ["build", str(case), "-o", str(out),
                                      "--generated-at", GENERATED_AT])
    assert result.exit_code == 0, result.output
    text = "".join(pdf_text(out)).replace("\n", "")
    assert f'<img src="file://{secret}">' in text
    assert "<script>alert(1)</script>" in text
    assert hits == []


def test_fetcher_refuses_everything_but_prepared_files(tmp_path, server):
    """Even markup that reaches the renderer (a user's template) cannot read or request."""
    port, hits = server
    templates = tmp_path / "tpl"
    templates.mkdir()
    builtin = Path(__file__).resolve().parent.parent / "templates" / "pack.html.j2"
    html = builtin.read_text(encoding="utf-8").replace(
        "<body", f'<img src="file:///etc/passwd"><link rel="stylesheet" '
                 f'href="http://127.0.0.1:{port}/x.css"><img src="http://127.0.0.1:{port}/i.png">'
                 "<body", 1)
    (templates / "pack.html.j2").write_text(html, encoding="utf-8")
    case = make_case(tmp_path / "cases")
    analysis = analyse(case)
    from datetime import datetime
    result = build_pack(analysis, BuildOptions(
        output=tmp_path / "p.pdf", generated_at=datetime.fromisoformat(GENERATED_AT),
        templates=templates))
    assert "file:///etc/passwd" in result.blocked_urls
    assert f"http://127.0.0.1:{port}/x.css" in result.blocked_urls
    assert hits == []


def test_file_names_with_markup_and_newlines_are_escaped(tmp_path):
    case = make_case(tmp_path / "cases", photos=1)
    odd = case / "preship" / "<img src=x onerror=alert(1)>\nIMG_20240309_150209.jpg"
    (case / "preship" / "IMG_20240309_150200.jpg").rename(odd)
    out = tmp_path / "p.pdf"
    result = CliRunner().invoke(cli, ["build", str(case), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = "".join(pdf_text(out))
    assert "<img src=x onerror=alert(1)>\\nIMG_20240309_150209.jpg" in text


# --- user templates are sandboxed ---------------------------------------------------------

# Jinja's globals reach the os module through a function's __globals__.
POPEN = "{{ cycler.__init__.__globals__.os.popen('cat SECRET').read() }}"


@pytest.mark.parametrize("body, message", [
    ("<p>hello</p>\n<p>\n" + POPEN + "\n</p>\n",
     ":3: template: access to attribute '__init__' of 'type' object is unsafe."),
    ("<p>{% if %}</p>\n", ":1: template: Expected an expression, got 'end of statement block'"),
    ("<p>ok</p>\n{% for x in y %}\n", ":2: template: Unexpected end of template."),
])
def test_a_template_that_escapes_the_sandbox_or_does_not_compile_is_exit_2(tmp_path, body,
                                                                           message):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE", encoding="utf-8")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "pack.html.j2").write_text(body.replace("SECRET", str(secret)), encoding="utf-8")
    case = make_case(tmp_path / "cases", photos=0)
    out = tmp_path / "p.pdf"
    result = CliRunner().invoke(cli, ["build", str(case), "-o", str(out), "--templates", str(mine)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"evidencepack: error: {mine / 'pack.html.j2'}{message}")
    assert len(result.stderr.splitlines()) == 1
    assert not out.exists()
