"""Finding the font that sets the pack's Chinese, before anything is laid out.

Without a font that covers Chinese, WeasyPrint still writes a PDF, with every
Chinese character an empty box; a build stops instead, saying what to install.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pydantic import BaseModel

from evidencepack.errors import InputError, SetupError

# What the renderer's fetcher serves the --font file as: a fixed name, so no
# file name reaches a URL, and nothing else is served under it.
URL = "evidencepack:/font/pack"
# The family the pack is set in when fontconfig cannot tell the font's own. The
# PDF names an embedded font after its CSS family: the font's own name says which.
FAMILY = "evidencepack pack font"
# The first four bytes of TrueType, OpenType (CFF), old Apple TrueType and collections.
_SIGNATURES = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")
REMEDY = ("install the Debian package fonts-wqy-microhei or fonts-noto-cjk, "
          "or pass --font FILE, a TTF, OTF or TTC font with Chinese")


class PackFont(BaseModel):
    """The --font file, or none when fontconfig has a font with Chinese."""

    path: Path | None = None
    family: str = FAMILY

    @property
    def urls(self) -> dict[str, Path]:
        """What the renderer's fetcher may serve for the font."""
        return {URL: self.path} if self.path else {}

    @property
    def css(self) -> str:
        """A stylesheet after the template's, setting the whole pack in the --font file."""
        if not self.path:
            return ""
        return (f'\n@font-face {{ font-family: "{self.family}"; src: url("{URL}"); }}\n'
                f'html, html * {{ font-family: "{self.family}", sans-serif !important; }}\n')


def _fontconfig(*args: str) -> subprocess.CompletedProcess | None:
    """A fontconfig tool's run, or None when fontconfig's tools are not installed."""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return None
    except subprocess.TimeoutExpired:
        raise SetupError(f"{args[0]} did not answer within a minute", remedy=REMEDY) from None


def _chinese_face(faces: str) -> str | None:
    """The family of the first face with Chinese, from fc-query's lines of
    "family<TAB>languages" ("en|zh-cn|..."); "" when its name is unusable in CSS."""
    for line in faces.splitlines():
        family, _, languages = line.partition("\t")
        if any(lang.startswith("zh") for lang in languages.split("|")):
            return "".join(c for c in family if c.isprintable() and c not in '"\\{};<>')
    return None


def pack_font(font: Path | None) -> PackFont:
    """The font for the pack: ``font`` once it is checked to be a font with Chinese,
    else none, once fontconfig is found to have one (``fc-list :lang=zh``)."""
    if font is None:
        found = _fontconfig("fc-list", "--format", "%{file}\n", ":lang=zh")
        if found is None:
            raise SetupError("fontconfig's fc-list is not installed, so no font with Chinese "
                             "can be found", remedy="install the Debian package fontconfig, "
                                                    "or pass --font FILE")
        if found.returncode != 0 or not found.stdout.strip():
            raise SetupError("no installed font covers Chinese, so every Chinese character "
                             "in the pack would print as an empty box", remedy=REMEDY)
        return PackFont()
    try:
        with font.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InputError(f"cannot read the font file ({exc.strerror})", path=font,
                         field="--font") from None
    if head not in _SIGNATURES:
        raise InputError("not a TrueType or OpenType font (TTF, OTF or TTC)", path=font,
                         field="--font")
    # Without fontconfig's tools the font cannot be asked; WeasyPrint still reads it.
    query = _fontconfig("fc-query", "--format", "%{family[0]}\t%{lang}\n", str(font))
    if query is None:
        return PackFont(path=font.resolve())
    if query.returncode != 0:
        raise InputError("fontconfig cannot read this font", path=font, field="--font")
    family = _chinese_face(query.stdout)
    if family is None:
        raise InputError("the font has no Chinese characters", path=font, field="--font",
                         remedy="choose a CJK font, such as wqy-microhei.ttc or "
                                "NotoSansCJK-Regular.ttc")
    return PackFont(path=font.resolve(), family=family or FAMILY)
