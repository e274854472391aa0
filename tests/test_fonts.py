"""A machine without a font that covers Chinese gets a clear error, not a pack of
empty boxes; `build --font FILE` sets the pack in that file, and only it is fetched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidencepack.cli import cli
from tests.conftest import GENERATED_AT, NOW, REPO, make_case, pdf_fonts, pdf_text, tree_digest

# Installed by scripts/setup.sh (fonts-wqy-microhei, fonts-dejavu-core).
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
NO_FONT = ("evidencepack: error: no installed font covers Chinese, so every Chinese character "
           "in the pack would print as an empty box (install the Debian package "
           "fonts-wqy-microhei or fonts-noto-cjk, or pass --font FILE, a TTF, OTF or TTC "
           "font with Chinese)")


@pytest.fixture
def without_cjk(tmp_path) -> dict[str, str]:
    """The environment of a machine whose fontconfig knows only DejaVu."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir>{DEJAVU}</dir>
  <cachedir>{tmp_path / "fontconfig-cache"}</cachedir>
</fontconfig>
""", encoding="utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


# `evidencepack` laying even a small pack out in pieces.
IN_PIECES = """
import sys
from evidencepack import cli
from evidencepack.pack import parallel
parallel.MIN_COST = parallel.PARENT_EXTRA = 0
sys.argv[0] = "evidencepack"
cli.main()
"""


def build(env, case, out, *extra, in_pieces=False):
    """`evidencepack build` in its own process: fontconfig reads its configuration once."""
    command = ["-c", IN_PIECES] if in_pieces else ["-m", "evidencepack"]
    return subprocess.run([sys.executable, *command, "build", str(case), "-o", str(out),
                           "--now", NOW, "--generated-at", GENERATED_AT, *map(str, extra)],
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_machines_in_these_tests_are_what_they_claim(without_cjk):
    assert WQY.is_file() and DEJAVU.is_dir(), "run scripts/setup.sh --dev"
    found = subprocess.run(["fc-list", ":lang=zh"], env=without_cjk, capture_output=True,
                           text=True, check=True).stdout
    assert found == ""


def test_no_cjk_font_is_an_error_with_the_remedy_and_no_pdf(tmp_path, without_cjk):
    case = make_case(tmp_path / "cases")
    before = tree_digest(case)
    out = tmp_path / "out" / "pack.pdf"
    result = build(without_cjk, case, out)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [NO_FONT]
    assert result.stdout == ""
    assert not out.exists() and not out.with_suffix(".manifest.json").exists()
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert tree_digest(case) == before


def test_font_sets_the_pack_in_that_file(tmp_path, without_cjk):
    case = make_case(tmp_path / "cases")
    out = tmp_path / "pack.pdf"
    result = build(without_cjk, case, out, "--font", WQY)
    assert result.returncode == 0, result.stderr
    # fontconfig here has no WenQuanYi: an embedded WenQuanYi came from --font.
    fonts = pdf_fonts(out)
    assert [name for name in fonts if "WenQuanYi" in name], fonts
    assert all(fonts.values()), f"a font is not embedded: {fonts}"
    text = "".join(pdf_text(out))
    assert "售后争议证据包" in text and "雾霾蓝羊毛开衫" in text


def test_font_in_pieces_and_no_temporary_font_copies_left(tmp_path, without_cjk):
    from tests.test_parallel import chat

    case = make_case(tmp_path / "cases", chat=chat(600))
    out = tmp_path / "pack.pdf"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = build({**without_cjk, "TMPDIR": str(scratch)}, case, out, "--font", WQY, "-j", "3",
                   in_pieces=True)
    assert result.returncode == 0, result.stderr
    text = "".join(pdf_text(out))
    # cut into pieces, each laid out in its own process, each setting Chinese
    assert "C1 （续）" in text and "第599条消息" in text
    assert [name for name in pdf_fonts(out) if "WenQuanYi" in name]
    # WeasyPrint's copies of the font, one per build, are gone
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("font, message", [
    ("missing.ttf", "--font: cannot read the font file (No such file or directory)"),
    ("notes.ttf", "--font: not a TrueType or OpenType font (TTF, OTF or TTC)"),
    (str(DEJAVU / "DejaVuSans.ttf"), "--font: the font has no Chinese characters (choose a CJK "
                                     "font, such as wqy-microhei.ttc or NotoSansCJK-Regular.ttc)"),
])
def test_a_font_that_will_not_do_is_bad_input(tmp_path, case_dir, font, message):
    (tmp_path / "notes.ttf").write_text("not a font", encoding="utf-8")
    font = tmp_path / font if "/" not in font else Path(font)
    out = tmp_path / "pack.pdf"
    result = CliRunner().invoke(cli, ["build", str(case_dir), "-o", str(out), "--font", str(font)])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"evidencepack: error: {font}: {message}"
    assert not out.exists()


def test_the_fetcher_serves_the_font_file_and_nothing_else(tmp_path, case_dir):
    templates = tmp_path / "tpl"
    templates.mkdir()
    css = (REPO / "templates" / "pack.css").read_text(encoding="utf-8")
    (templates / "pack.css").write_text(css + """
@font-face { font-family: a; src: url("file:///usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"); }
@font-face { font-family: b; src: url("evidencepack:/font/../../etc/passwd"); }
@font-face { font-family: c; src: local("DejaVu Sans"); }
p { font-family: a, b, c; }
""", encoding="utf-8")
    result = CliRunner().invoke(cli, ["build", str(case_dir), "-o", str(tmp_path / "p.pdf"),
                                      "--font", str(WQY), "--templates", str(templates),
                                      "--json"])
    assert result.exit_code == 0, result.output
    blocked = json.loads(result.output)["blocked_urls"]
    assert "file:///usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" in blocked
    assert "evidencepack:/font/../../etc/passwd" in blocked
    assert "evidencepack:/font/pack" not in blocked
