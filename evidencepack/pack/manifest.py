"""What a pack records about itself: the manifest embedded in the PDF and written beside it.

`build` writes it; `verify` and a resumed `batch` read it back. A manifest read back is
input like any other (a hand-edited file, a PDF from elsewhere), so its shape is checked
before any field is used: a field of the wrong type was an internal error (exit 3), and a
manifest file holding ``null`` once let verify say OK without checking the PDF's bytes.
Fields are optional where older packs lack them; what verify relies on is required.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr,
                      ValidationError)

SCHEMA = "evidencepack.manifest/1"


class _Record(BaseModel):
    # Unknown keys are kept: a newer version's manifest still reads.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ManifestInput(_Record):
    path: StrictStr
    sha256: StrictStr
    kind: StrictStr | None = None
    size: StrictInt | None = None
    captured_at: StrictStr | None = None
    time_source: StrictStr | None = None
    label: StrictStr | None = None


class ManifestPdf(_Record):
    sha256: StrictStr
    file: StrictStr | None = None
    size: StrictInt | None = None
    pages: StrictInt | None = None
    image_step: StrictInt | None = None


class Manifest(_Record):
    schema_: StrictStr = Field(SCHEMA, alias="schema")
    tool: StrictStr | None = None
    case_id: StrictStr | None = None
    dispute_type: StrictStr | None = None
    platform: StrictStr | None = None
    lang: StrictStr | None = None
    redacted: StrictBool | None = None
    generated_at: StrictStr | None = None
    timezone: StrictStr | None = None
    input_digest: StrictStr | None = None
    inputs: list[ManifestInput]
    checklist: dict[str, Any] | None = None
    filled_from_export: dict[str, StrictStr] | None = None
    pages: StrictInt | None = None  # the embedded copy's page count (verify alone sees a deleted page)
    pdf: ManifestPdf | None = None  # only the copy beside the PDF: it cannot hold its own hash

    def dumps(self) -> bytes:
        # exclude_unset: a row's explicit null (case.toml has no capture time) stays,
        # a field this build never set (pdf in the embedded copy) is left out.
        return json.dumps(self.model_dump(mode="json", by_alias=True, exclude_unset=True),
                          ensure_ascii=False, indent=2).encode("utf-8")


_WORDS = {"missing": "is missing", "string_type": "is not text", "int_type": "is not a whole number",
          "bool_type": "is not true or false", "model_type": "is not a JSON object",
          "dict_type": "is not a JSON object", "list_type": "is not a list"}


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_manifest(data: object, *, beside: bool = False) -> Manifest:
    """``data`` (parsed JSON) as a manifest; ValueError saying what is wrong with it.
    ``beside``: the file written next to the PDF, which must record the PDF's hash."""
    if not isinstance(data, dict):
        raise ValueError("it is not a JSON object")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{_where(first['loc'])} {_WORDS.get(first['type'], 'is not valid')}") \
            from None
    if beside and manifest.pdf is None:
        raise ValueError("it records no pdf.sha256")
    return manifest
