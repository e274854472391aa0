"""The library's front door: ``check`` a case, ``build`` its pack.

The command line, batch workers and the benchmark all build through here, so a
script that imports evidencepack gets exactly what `evidencepack build` makes::

    import evidencepack
    pack = evidencepack.build("cases/TB-1", evidencepack.BuildOptions(output="out/TB-1.pdf"))
    pack.result.pages, pack.analysis.report.complete

Nothing here prints or exits; failures are ``evidencepack.errors.EvidencePackError``
subclasses carrying their exit code and remedy.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from evidencepack.judge.claims import Argument, argue
from evidencepack.errors import InputError
from evidencepack.inputs.evidence import inside
from evidencepack.options import BuildOptions, CheckOptions
from evidencepack.pack.pageimages import UploadPlan
from evidencepack.pipeline import Analysis, analyse
from evidencepack.pack.render import REDACT_ATTACH, PackResult, build_pack


class Pack(BaseModel):
    """What one build made: the analysis it rests on, the argument the pack makes,
    the PDF and manifest, the agent's worksheet and (with ``images_dir``) the upload plan."""
    model_config = ConfigDict(arbitrary_types_allowed=True)

    analysis: Analysis
    argument: Argument
    result: PackResult
    worksheet: Path
    plan: UploadPlan | None = None


def refuse_inside(case_dir: Path, target: Path, option: str) -> None:
    """The case folder holds the evidence and is read-only to us."""
    if inside(case_dir, target):
        raise InputError(f"{option} would write inside the case folder, which holds the "
                         "evidence and is never written to", path=target,
                         remedy=f"choose {option} outside the case folder")


def check(case_dir: str | Path, options: CheckOptions | None = None, *,
          worksheet: Path | None = None) -> Analysis:
    """Check the case against its dispute type's checklist; with ``worksheet``,
    also write the agent's worksheet (HTML) there."""
    from evidencepack.pack import worksheet as sheet

    case_dir = Path(case_dir)
    if worksheet is not None:
        refuse_inside(case_dir, worksheet, "--html")
    analysis = analyse(case_dir, options)
    if worksheet is not None:
        sheet.write_html(sheet.make(analysis), worksheet)
    return analysis


def build(case_dir: str | Path, options: BuildOptions | None = None) -> Pack:
    """Check the case, then write its pack (PDF + manifest) and worksheet beside it."""
    case_dir, options = Path(case_dir), options or BuildOptions()
    if options.redact and options.attach_originals:  # refused before any work
        raise InputError(REDACT_ATTACH)
    return write_pack(analyse(case_dir, options), options)


def write_pack(analysis: Analysis, options: BuildOptions) -> Pack:
    """Write the pack of a case already checked (``check`` or batch's worker)."""
    from evidencepack.pack import worksheet as sheet

    options = options.resolved(analysis)
    refuse_inside(analysis.case_dir, options.output, "-o")
    if options.images_dir is not None:  # refused before the PDF is written
        refuse_inside(analysis.case_dir, options.images_dir, "--images")
    argument = argue(analysis)
    result = build_pack(analysis, options, argument=argument)
    written = sheet.write_html(sheet.make(analysis, argument),
                               options.output.with_suffix(".worksheet.html"),
                               (options.templates,) if options.templates else ())
    plan = _upload_plan(analysis, argument, result, options) if options.images_dir else None
    return Pack(analysis=analysis, argument=argument, result=result, worksheet=written,
                plan=plan)


def pack_digest(analysis: Analysis, options: BuildOptions) -> str:
    """The input digest the pack of this analysis would record: the same inputs and
    options give the same digest, so a pack that records it is current (batch resumes)."""
    from evidencepack.pack.render import input_digest, manifest_inputs, options_key

    return input_digest(manifest_inputs(analysis), options_key(options.resolved(analysis),
                                                               analysis))


def _upload_plan(analysis: Analysis, argument: Argument, result: PackResult,
                 options: BuildOptions) -> UploadPlan:
    from evidencepack.pack.labels import load_labels
    from evidencepack.pack.pageimages import plan_upload

    L = load_labels(analysis.lang)
    titles = {"cover": L["cover_page"], "points": L["points"], "toc": L["contents"],
              "statement": L["statement"], "timeline": L["timeline"], "manifest": L["manifest"]}
    titles.update({f"ex-{e.label}": f"{e.label} {L['kind_' + e.kind.value]}"
                   for e in analysis.evidence})
    upload = analysis.profile.upload
    return plan_upload(
        result.pdf, options.images_dir, stem=analysis.case.case_id,
        max_bytes=options.image_max_bytes(analysis), pages=result.pages,
        pages_of=result.pages_of,
        cited=[a for c in argument.claims for ref in c.refs
               for a in (ref.anchor, *(f"ex-{label}" for label in ref.labels))],
        titles=titles, max_images=upload.max_images, assumed=upload.max_images_assumed,
        labels=L)
