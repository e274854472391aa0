"""Document types: what a file in reports/ is (signing slip, invoice, report...),
from case.toml, its file name or the text of a PDF's first pages."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from evidencepack.models import DocType, EvidenceItem, EvidenceKind
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import DATA

DOC_TYPES_FILE = DATA / "doc_types.toml"
# Kinds a file's name or text may type; a listing screenshot called 发票说明.png
# is still a listing screenshot.
TYPED_KINDS = {EvidenceKind.document, EvidenceKind.other}
# The title and first lines say what a document is; reading further only costs time.
PDF_PAGES = 2


class _TypeRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: DocType
    name_zh: str
    name_en: str
    name_words: list[str]
    text_words: list[str]


@lru_cache(maxsize=1)
def _rows() -> tuple[_TypeRow, ...]:
    data = load_toml(DOC_TYPES_FILE, display="evidencepack/data/doc_types.toml")
    return tuple(_TypeRow.model_validate(row) for row in data["types"])


def doc_type_name(doc_type: DocType | str, lang: str) -> str:
    for row in _rows():
        if row.id == doc_type:
            return row.name_zh if lang == "zh" else row.name_en
    raise KeyError(doc_type)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def doc_type_from_name(name: str) -> DocType | None:
    """The type a file name says (签收底单.jpg -> signing_slip), or None."""
    return _match(name, "name_words")


def _match(text: str, field: str) -> DocType | None:
    folded = _fold(text)
    for row in _rows():
        if any(_fold(word) in folded for word in getattr(row, field)):
            return row.id
    return None


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        return "".join((page.extract_text() or "") for page in reader.pages[:PDF_PAGES])
    except Exception:  # noqa: BLE001 - pypdf raises many kinds; a broken PDF has no type
        return ""


def assign_doc_type(item: EvidenceItem, path: Path, override: DocType | None) -> None:
    """Set ``item.doc_type`` and its source; leaves non-document kinds untyped
    unless case.toml types them."""
    if override is not None:
        item.doc_type, item.doc_type_source = override, "case.toml"
        return
    if item.kind not in TYPED_KINDS:
        return
    found = doc_type_from_name(Path(item.path).name)
    if found is not None:
        item.doc_type, item.doc_type_source = found, "file name"
        return
    if item.media_type == "application/pdf" and item.size > 0:
        found = _match(_pdf_text(path), "text_words")
        if found is not None:
            item.doc_type, item.doc_type_source = found, "PDF text"
            return
    item.doc_type = DocType.other
