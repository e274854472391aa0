"""`evidencepack verify`: is this the pack that was built, from these files?

It says exactly what it checked (``verified``) and passes only when it could
vouch for the PDF's own bytes:

* the PDF's SHA-256 against ``PACK.manifest.json`` beside it (the manifest
  embedded in the PDF cannot hold the hash of the file that contains it); with
  no manifest beside it the PDF is *unverified*, exit 1, never OK;
* the page count against the embedded manifest and the one beside it, so a
  deleted or added page shows even in a lone PDF;
* the embedded manifest against the one beside it (same case, same inputs);
* with ``--case``, every input file's SHA-256 against the case folder now.

What this cannot show: someone who rewrites the PDF, its embedded manifest and
the manifest beside it together. Only a copy of the manifest (or its digest)
kept where they cannot write, or a signature, does that (README, "Trust").
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from evidencepack.inputs.case import CASE_FILE
from evidencepack.errors import InputError
from evidencepack.inputs.evidence import _walk, display_path, sha256_file
from evidencepack.pack.manifest import Manifest, ManifestPdf, read_manifest


class FileChange(BaseModel):
    path: str
    label: str | None = None
    was: str | None = None  # sha256 in the manifest
    now: str | None = None  # sha256 in the case folder


class VerifyReport(BaseModel):
    schema_: str = Field("evidencepack.verify/1", alias="schema")
    pdf: str
    ok: bool = True
    # ok: every check passed and the PDF's bytes were vouched for; mismatch: a
    # check failed; unverified: nothing failed, but the PDF's bytes were not checked.
    status: str = "ok"
    verified: list[str] = Field(default_factory=list)  # each check that passed, one line
    case_id: str | None = None
    generated_at: str | None = None
    input_digest: str | None = None
    pdf_sha256: str
    manifest_file: str | None = None  # the manifest beside the PDF, when there is one
    case_dir: str | None = None
    problems: list[str] = Field(default_factory=list)  # each mismatch, one line
    notes: list[str] = Field(default_factory=list)  # what could not be checked
    changed: list[FileChange] = Field(default_factory=list)
    missing: list[FileChange] = Field(default_factory=list)
    added: list[FileChange] = Field(default_factory=list)
    checked_files: int = 0

    model_config = {"populate_by_name": True}

    def to_json(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)

    def fail(self, message: str) -> None:
        self.ok = False
        self.status = "mismatch"
        self.problems.append(message)

    def unverified(self, note: str) -> None:
        self.ok = False
        if self.status == "ok":
            self.status = "unverified"
        self.notes.append(note)


def embedded_manifest(pdf: Path) -> Manifest:
    """The manifest.json attached to a pack; InputError when there is none."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(pdf)
        attachments = reader.attachments
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on a broken file
        raise InputError(f"not a readable PDF ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})", path=pdf) from exc
    found = attachments.get("manifest.json") if attachments else None
    if not found:
        raise InputError("the PDF has no embedded evidencepack manifest (manifest.json); "
                         "it was not made by `evidencepack build`", path=pdf)
    try:
        data = json.loads(found[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the embedded manifest.json is not valid JSON ({exc})", path=pdf) from exc
    try:
        return read_manifest(data)
    except ValueError as exc:
        raise InputError(f"the embedded manifest.json is not an evidencepack manifest ({exc})",
                         path=pdf) from None


def verify_pack(pdf: Path, case_dir: Path | None = None) -> VerifyReport:
    if not pdf.is_file():
        raise InputError("no such file" if not pdf.exists() else "not a file", path=pdf)
    try:
        data = pdf.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=pdf) from exc
    if not data.lstrip(b"\r\n\t ")[:5] == b"%PDF-":
        raise InputError("not a PDF (it does not start with %PDF-)", path=pdf)
    actual = hashlib.sha256(data).hexdigest()
    report = VerifyReport(pdf=str(pdf), pdf_sha256=actual)

    beside_path = pdf.with_suffix(".manifest.json")
    beside = None
    if beside_path.is_file():
        report.manifest_file = str(beside_path)
        try:
            beside = json.loads(beside_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            report.fail(f"{beside_path.name}: not readable as JSON ({exc})")
        else:
            try:
                beside = read_manifest(beside, beside=True)
            except ValueError as exc:
                report.fail(f"{beside_path.name}: not an evidencepack manifest ({exc})")
                beside = None
    else:
        report.unverified(f"no {beside_path.name} beside the PDF: its own bytes cannot be "
                          "vouched for, only what it embeds (keep the manifest with the PDF)")
    recorded = beside.pdf if beside is not None else None
    expected = recorded.sha256 if recorded else None
    if expected and expected != actual:
        report.fail(f"{pdf.name}: the PDF's bytes changed since it was built (sha256 {actual[:16]}…, "
                    f"{beside_path.name} records {expected[:16]}…)")
    elif expected:
        report.verified.append(f"the PDF's SHA-256 is the one {beside_path.name} records")

    try:
        manifest = embedded_manifest(pdf)
    except InputError:
        if report.status == "mismatch":  # a tampered file may not parse: the hash said so
            report.notes.append("the embedded manifest could not be read either")
            return report
        raise
    report.case_id = manifest.case_id
    report.generated_at = manifest.generated_at
    report.input_digest = manifest.input_digest
    if beside is not None and beside.input_digest != manifest.input_digest:
        report.fail(f"{beside_path.name} belongs to another build (input digest "
                    f"{str(beside.input_digest)[:16]}…, the PDF embeds "
                    f"{str(manifest.input_digest)[:16]}…)")
    elif beside is not None:
        report.verified.append(f"{beside_path.name} and the embedded manifest name the same "
                               "build (input digest)")
    _compare_pages(report, pdf, manifest, recorded)
    if case_dir is not None:
        _compare_case(report, manifest, case_dir)
    return report


def _compare_pages(report: VerifyReport, pdf: Path, manifest: Manifest,
                   recorded: ManifestPdf | None) -> None:
    from pypdf import PdfReader

    try:
        pages = len(PdfReader(pdf).pages)
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on a broken file
        report.fail(f"{pdf.name}: its pages cannot be counted ({type(exc).__name__})")
        return
    for where, expected in (("the embedded manifest", manifest.pages),
                            ("the manifest beside it", recorded.pages if recorded else None)):
        if expected is None:
            continue
        if expected != pages:
            report.fail(f"{pdf.name}: {pages} pages, {where} records {expected} "
                        "(a page was removed or added)")
        else:
            report.verified.append(f"{pages} pages, as {where} records")
    if manifest.pages is None:
        report.notes.append("the embedded manifest records no page count (built by an older "
                            "version)")


def _compare_case(report: VerifyReport, manifest: Manifest, case_dir: Path) -> None:
    if not case_dir.is_dir():
        raise InputError("the case folder does not exist or is not a folder", path=case_dir)
    report.case_dir = str(case_dir)
    now: dict[str, Path] = {}
    if (case_dir / CASE_FILE).is_file():
        now[CASE_FILE] = case_dir / CASE_FILE
    for rel, path in _walk(case_dir, []):
        now[display_path(PurePosixPath(rel))] = path
    recorded = {row.path: row for row in manifest.inputs}
    for rel, row in recorded.items():
        path = now.get(rel)
        change = FileChange(path=rel, label=row.label, was=row.sha256)
        if path is None:
            report.missing.append(change)
            continue
        try:
            change.now = sha256_file(path)
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror})", path=path) from exc
        if change.now != change.was:
            report.changed.append(change)
    report.added = [FileChange(path=rel, now=sha256_file(path))
                    for rel, path in sorted(now.items()) if rel not in recorded]
    report.checked_files = len(recorded)
    for kind, rows in (("changed", report.changed), ("missing", report.missing),
                       ("added", report.added)):
        for change in rows:
            label = f" ({change.label})" if change.label else ""
            report.fail(f"{kind}: {change.path}{label}")
    if not (report.changed or report.missing or report.added):
        report.verified.append(f"the {len(recorded)} input file(s) in {case_dir} hash as the "
                               "manifest records, and no file was added")
