"""Rendering an analysed case into the PDF bundle (Jinja2 + WeasyPrint).

The renderer fetches nothing but this case's prepared files and the --font
file: every other URL (file://, http://, data:) is refused by ``CaseFetcher``.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from evidencepack import __version__
from evidencepack.atomic import write_pair
from evidencepack.errors import InputError, RenderError, SizeLimitError
from evidencepack.pack.fonts import pack_font
from evidencepack.inputs.images import Recipe, default_cache_dir
from evidencepack.pack.labels import BUILTIN_TEMPLATES, load_labels
from evidencepack.judge.claims import Argument, argue
from evidencepack.options import BuildOptions
from evidencepack.pack.manifest import Manifest, ManifestPdf
from evidencepack.pack.view import FETCH_PREFIX, build_context, human_size, prepare_all
from evidencepack.pipeline import Analysis, printable
from evidencepack.inputs.safeio import LIMITS, read_verified
from evidencepack.pack import appended, parallel, templating

REDACT_ATTACH = ("--redact and --attach-originals cannot be combined: the original files "
                 "cannot be masked, and a redacted pack must carry nothing unmasked "
                 "(build without --attach-originals, or without --redact)")

# Step by step, what --max-size may trade away: photos first, screenshots last.
SIZE_LADDER = [
    Recipe(),
    Recipe(max_px=1000, quality=55, screenshot_max_px=2200),
    Recipe(max_px=900, quality=45, screenshot_max_px=2000),
    Recipe(max_px=800, quality=40, screenshot_max_px=1800),
    Recipe(max_px=700, quality=35, screenshot_max_px=1400),
]


class PackResult(BaseModel):
    pdf: Path
    manifest: Path
    pages: int
    size: int
    sha256: str
    input_digest: str
    recipe_step: int
    blocked_urls: list[str]
    # Where each section, exhibit, message and tracking row is: anchor -> page (from 1).
    pages_of: dict[str, int] = {}
    # Problems found only while rendering (an image that could not be prepared,
    # a PDF that could not be appended), as "path: problem" like the analysis's.
    warnings: list[str] = []


class CaseFetcher:
    """Serves only the prepared files of this case (and the --font file); refuses and
    records all else."""

    def __init__(self, files: dict[str, Path]):
        from weasyprint.urls import URLFetcher

        self.files = files
        self.base = FETCH_PREFIX
        self.blocked: list[str] = []
        fetcher = self

        class _Fetcher(URLFetcher):
            def fetch(self, url, headers=None):
                return fetcher.fetch(url)

        self.weasy = _Fetcher(allowed_protocols=["evidencepack"])

    def fetch(self, url: str):
        from weasyprint.urls import URLFetcherResponse

        path = self.files.get(url)
        if path is None:
            self.blocked.append(url)
            raise ValueError(f"evidencepack fetches only the case's prepared files, not {url}")
        mime = "image/png" if path.suffix == ".png" else \
            "image/jpeg" if path.suffix == ".jpg" else "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})


# --- inputs digest and manifest --------------------------------------------------

def manifest_inputs(analysis: Analysis) -> list[dict]:
    case_toml = analysis.case_dir / "case.toml"
    rows = [{"path": "case.toml", "kind": "case", "size": case_toml.stat().st_size,
             "sha256": hashlib.sha256(case_toml.read_bytes()).hexdigest(),
             "captured_at": None, "time_source": None, "label": None}]
    for e in analysis.evidence:
        rows.append({"path": e.path, "kind": e.kind.value, "size": e.size, "sha256": e.sha256,
                     "captured_at": e.captured_at.isoformat() if e.captured_at else None,
                     "time_source": e.time_source.value, "label": e.label})
    return rows


def input_digest(inputs: list[dict], options_key: str) -> str:
    """SHA-256 over the manifest's inputs, the options and the tool version."""
    canonical = json.dumps({"inputs": inputs, "options": options_key, "version": __version__},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- rendering -----------------------------------------------------------------------

def _template_dirs(opts: BuildOptions) -> list[Path]:
    dirs = [BUILTIN_TEMPLATES]
    if opts.templates:
        if not opts.templates.is_dir():
            raise RenderError("template folder does not exist", path=opts.templates)
        dirs.insert(0, opts.templates)
    return dirs


def _css_text(dirs: list[Path]) -> str:
    for folder in dirs:
        if (folder / "pack.css").is_file():
            return (folder / "pack.css").read_text(encoding="utf-8")
    raise RenderError("pack.css not found in the template folders")  # pragma: no cover


def options_key(opts: BuildOptions, analysis: Analysis) -> str:
    """The options that change a pack's content (for the resumable batch's digest).

    ``generated_at`` is deliberately left out: it is a stamp of when, not an input,
    and it is recorded in the manifest on its own. With it in, a batch that stamps
    "now" would never find a pack up to date. Facts filled from a refund export
    (``analysis.filled``) are inputs that case.toml's hash does not cover, so they are in.
    """
    key = {"lang": analysis.lang, "redact": analysis.redacted,
           "max_size": opts.max_size, "attach": opts.attach_originals,
           "templates": str(opts.templates) if opts.templates else None}
    if opts.font:
        key["font"] = str(opts.font)
    if analysis.filled:
        key["filled"] = analysis.filled
    return json.dumps(key, sort_keys=True, ensure_ascii=False)


@dataclass
class _Pack:
    """What every step of the size ladder shares: worked out once per build, because
    only the page copies of the photos change from one step to the next."""
    analysis: Analysis  # as printed (printable: long chats cut, with notes)
    notes: list[str]
    dirs: list[Path]
    labels: dict
    argument: Argument
    template: object
    css: str
    font_urls: dict[str, Path]
    manifest: Manifest
    originals: list[tuple[str, bytes, str]]


def _pack(analysis: Analysis, opts: BuildOptions, argument: Argument | None) -> _Pack:
    printed, notes = printable(analysis)
    dirs = _template_dirs(opts)
    font = pack_font(opts.font)  # no font with Chinese, no pack: checked before any work
    L = load_labels(printed.lang, tuple(dirs))
    inputs = manifest_inputs(printed)
    manifest = Manifest(
        tool=f"evidencepack {__version__}", case_id=printed.case.case_id,
        dispute_type=printed.case.dispute_type, platform=printed.case.platform,
        lang=printed.lang, redacted=printed.redacted,
        generated_at=opts.generated_at.astimezone(printed.case.tz).isoformat(),
        timezone=printed.case.timezone, input_digest=input_digest(inputs, options_key(opts, printed)),
        inputs=inputs,
        checklist={"complete": printed.report.complete, "score": printed.report.score},
        **({"filled_from_export": printed.filled} if printed.filled else {}))
    # The attached bytes are those the manifest's digest names (read_verified).
    originals = [(f"{e.label}-{Path(e.path).name}",
                  read_verified(e.source(printed.case_dir), e.sha256, display=e.path,
                                limit=LIMITS["files"]["max_binary_bytes"]),
                  f"{e.label} original, sha256 {e.sha256}")
                 for e in printed.evidence] if opts.attach_originals else []
    template = templating.guarded(lambda: templating.environment(dirs).get_template("pack.html.j2"))
    return _Pack(analysis=printed, notes=notes, dirs=dirs, labels=L,
                 argument=argument or argue(printed, L), template=template,
                 css=_css_text(dirs) + font.css, font_urls=font.urls, manifest=manifest,
                 originals=originals)


def render_pdf(pack: _Pack, opts: BuildOptions, recipe_step: int
               ) -> tuple[bytes, int, CaseFetcher, dict[str, int], list[str]]:
    """One rendering at one step of the size ladder: (pdf bytes, pages, fetcher,
    anchor -> page index, the problems found while rendering)."""
    from weasyprint import Attachment

    analysis, manifest, template, css = pack.analysis, pack.manifest, pack.template, pack.css
    cache_dir = opts.cache_dir or default_cache_dir()
    prepared = prepare_all(analysis, SIZE_LADDER[recipe_step], cache_dir, opts.jobs)
    context = build_context(analysis, prepared, opts, pack.labels, manifest.input_digest,
                            analysis.redacted, pack.argument)
    html = templating.guarded(lambda: template.render(**context))
    fetcher = CaseFetcher({**prepared.urls, **pack.font_urls})

    def embedded(pages: int) -> list[tuple[str, bytes, str]]:
        # The embedded manifest records the page count, so `verify` alone sees a
        # deleted or added page (not a forger who rewrites the manifest too: README).
        manifest.pages = pages
        return [("manifest.json", manifest.dumps(), "evidencepack manifest"), *pack.originals]

    # WeasyPrint logs each refused URL and every unsupported CSS property; the
    # pack reports refusals itself, so keep its logger quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    processes = parallel.processes(opts.jobs)
    pieces = parallel.split(html) if processes > 1 else None
    cut = parallel.plan(pieces, processes) if pieces else None

    def front(pages):
        return parallel.split(template.render(**{**context, "toc_pages": pages})).front

    try:
        with parallel.font_faces(css, fetcher) as fonts:
            stitched = parallel.render(pieces, cut, css, fetcher, front, fonts) if cut else None
            if stitched is not None:
                writer, anchors = stitched.pdf_writer, stitched.anchors
                pages = len(writer.pages)
                from pypdf.generic import TextStringObject

                for name, data, description in embedded(pages):
                    attached = writer.add_attachment(name, data)
                    attached.description = TextStringObject(description)
                    attached.creation_date = attached.modification_date = opts.generated_at
            else:
                writer = None
                document = parallel.lay_out(parallel.whole(html), css, fetcher, fonts=fonts)
                pages = len(document.pages)
                anchors = {name: index for index, page in enumerate(document.pages)
                           for name in page.anchors}
                pdf = document.write_pdf(attachments=[
                    Attachment(file_obj=io.BytesIO(data), name=name, description=description,
                               created=opts.generated_at, modified=opts.generated_at)
                    for name, data, description in embedded(pages)])
    except RenderError:
        raise
    except Exception as exc:  # noqa: BLE001 - layout errors must not be tracebacks
        raise RenderError(f"the PDF could not be laid out ({type(exc).__name__}: {exc})") from exc
    if prepared.pdf_pages:
        from pypdf import PdfReader, PdfWriter

        writer = writer or PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
        appended.stamp(writer, prepared.documents, anchors)
    if writer is not None:
        out = io.BytesIO()
        writer.write(out)
        pdf = out.getvalue()
    return pdf, pages, fetcher, anchors, pack.notes + [
        f"{path}: {problem}" for path, problem in prepared.problems.items()]


@contextmanager
def without_cycle_collection():
    """WeasyPrint builds hundreds of thousands of small objects for a large pack,
    and every generation-2 pass of Python's cycle collector walks all of them:
    measured on the benchmark's large case, a quarter of the build (4.0 s ->
    2.7 s) for 35 MB more peak memory. Reference counting still frees nearly all
    of it; the collector comes back on once the pack is rendered."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_pack(analysis: Analysis, opts: BuildOptions, *,
               argument: Argument | None = None) -> PackResult:
    """Render, fit the size limit step by step, and write the PDF and its manifest atomically.

    A redacted analysis (``analysis.redacted``) makes a redacted pack; its
    originals cannot be masked, so they are never attached to it."""
    if analysis.redacted and opts.attach_originals:
        raise InputError(REDACT_ATTACH)
    opts = opts.resolved(analysis)
    pack = _pack(analysis, opts, argument)
    manifest = pack.manifest
    step = 0
    while True:
        with without_cycle_collection():
            pdf, pages, fetcher, anchors, problems = render_pdf(pack, opts, step)
        too_big = opts.max_size is not None and len(pdf) > opts.max_size
        if not too_big or step == len(SIZE_LADDER) - 1:
            break
        step += 1
    if too_big:
        over = len(pdf) - opts.max_size
        raise SizeLimitError(
            f"the pack is {human_size(len(pdf))} at the smallest image setting, "
            f"{human_size(over)} over the {human_size(opts.max_size)} limit",
            remedy="split the evidence into two packs or remove duplicate photos; "
                   "no exhibit was dropped")
    if opts.max_pages is not None and pages > opts.max_pages:
        raise SizeLimitError(f"the pack has {pages} pages, over the limit of {opts.max_pages}",
                             remedy="split the evidence into two packs")
    sha = hashlib.sha256(pdf).hexdigest()
    manifest_path = opts.output.with_suffix(".manifest.json")
    manifest.pdf = ManifestPdf(file=opts.output.name, sha256=sha, size=len(pdf), pages=pages,
                               image_step=step)
    write_pair(opts.output, pdf, manifest_path, manifest.dumps())
    return PackResult(pdf=opts.output, manifest=manifest_path, pages=pages, size=len(pdf),
                      sha256=sha, input_digest=manifest.input_digest, recipe_step=step,
                      blocked_urls=list(dict.fromkeys(fetcher.blocked)),
                      pages_of={name: index + 1 for name, index in anchors.items()},
                      warnings=problems)
