"""Laying out a large pack in several processes at once, and stitching the pieces.

WeasyPrint lays a document out in one thread, and a large pack's layout is most
of its build time. Every top-level section of the pack starts a new page, so a
pack cut at section boundaries paginates exactly as it does whole, and each
piece can be laid out in its own (forked) process. What crosses a cut is
settled here:

* the footer's "page X of Y": each piece, once it has paginated and before its
  page-margin boxes are laid out, reports its page count and is told how many
  pages come before it and how many there are in all (a hook on WeasyPrint's
  ``make_margin_boxes``), so its footers are laid out right the first time;
* the contents' page numbers: the cover and contents (the *front*) are laid
  out last, when every section's page is known, after a first layout with
  placeholder numbers has told how many pages the front takes;
* links: WeasyPrint writes internal links as named destinations; a piece keeps
  links whose target is in another piece, and the stitched PDF gets one name
  tree holding every piece's anchors, so every link lands where it should;
* the outline is rebuilt from each piece's bookmarks.

The renderer fetches nothing here that it would not fetch whole: every piece
uses the same case-only URL fetcher.
"""

from __future__ import annotations

import inspect
import io
import itertools
import multiprocessing
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from evidencepack.errors import RenderError
from evidencepack.workers import workers

FRONT_END = "<!--evidencepack:front-end-->"
BREAK = "<!--evidencepack:break-->"
CUT = "<!--evidencepack:cut-->"
CUT_END = "<!--evidencepack:cut-end-->"
_CUT = re.compile(re.escape(CUT) + "(.*?)" + re.escape(BREAK) + "(.*?)" + re.escape(CUT_END), re.S)
_BOUNDARY = re.compile(re.escape(BREAK) + "|" + _CUT.pattern, re.S)

# Rough cost of laying out and drawing a segment, in bytes of chat transcript
# (about 10 µs a byte on the benchmark machine): a table row costs about 300
# more, a page reserved for an appended document 4,000, a PNG screenshot 8,000
# (WeasyPrint re-compresses it). Fitted to the benchmark's large case.
ROW_COST = 300
DOCPAGE_COST = 4000
PNG_COST = 8000
# Below this a pack is laid out whole: the fork, the front's second layout and
# the stitching cost about as much as they save (the benchmark's typical case,
# 150 messages and 8 photos, is about 60,000; its large one about 440,000).
MIN_COST = 150_000
# The parent also lays out the front twice and stitches.
PARENT_EXTRA = 110_000
# Placeholder page numbers for the front's first layout: as wide as any real one.
PLACEHOLDER = "888"

_PX_TO_PT = 0.75


def whole(html: str) -> str:
    """``html`` for laying out in one piece: without the transcript cut points."""
    return _CUT.sub("", html)


@dataclass
class Pieces:
    head: str
    front: str
    # The sections after the front, cut at every break and cut point; joins[i]
    # is how segment i follows segment i - 1: None after a break, or the
    # (close, open) markup that cuts a transcript there.
    segments: list[str]
    joins: list[tuple[str, str] | None]
    tail: str

    def html(self, body: str) -> str:
        return self.head + body + self.tail

    def run(self, first: int, stop: int) -> str:
        """The HTML of segments [first, stop) laid out as one piece."""
        parts = []
        if first and self.joins[first]:
            parts.append(self.joins[first][1])
        parts.extend(self.segments[first:stop])
        if stop < len(self.segments) and self.joins[stop]:
            parts.append(self.joins[stop][0])
        return self.html("".join(parts))


def split(html: str) -> Pieces | None:
    """The pack's front and its sections, or None for a template without the marks."""
    end = html.find(FRONT_END)
    close = html.rfind("</body>")
    open_ = html.find("<body")
    if min(end, close, open_) < 0:
        return None
    start = html.index(">", open_) + 1
    rest = html[end + len(FRONT_END):close]
    segments, joins, at, join = [], [], 0, None
    for match in _BOUNDARY.finditer(rest):
        segments.append(rest[at:match.start()])
        joins.append(join)
        join = (match.group(1), match.group(2)) if match.group(0) != BREAK else None
        at = match.end()
    segments.append(rest[at:])
    joins.append(join)
    return Pieces(head=html[:start], front=whole(html[start:end]), segments=segments,
                  joins=joins, tail=html[close:])


def _cost(segment: str) -> int:
    return (len(segment) + ROW_COST * segment.count("<tr")
            + DOCPAGE_COST * segment.count('class="docpage"') + PNG_COST * segment.count('.png"'))


def plan(pieces: Pieces, processes: int) -> list[int] | None:
    """Where to cut the sections into at most ``processes`` runs, the first (the
    parent's) counted PARENT_EXTRA heavier, so that the heaviest run is as light as
    it can be; None when the pack is too small to be worth laying out in pieces.

    Each process past the first must have MIN_COST of work to pay for itself. The
    cut depends on the content and the number of processes alone, so a pack is the
    same wherever it is built with the same ``--jobs`` (or as many usable cores).
    """
    costs = [_cost(s) for s in pieces.segments]
    total = sum(costs)
    runs = min(processes, len(costs))
    while runs > 1 and total < MIN_COST * (runs - 1):
        runs -= 1
    if runs < 2:
        return None
    before = [0, *itertools.accumulate(costs)]
    # worst[i]: the heaviest run when segments [0, i) are cut into the runs so far;
    # cuts[i]: where those runs start.
    worst = [b + PARENT_EXTRA for b in before]
    cuts: list[list[int]] = [[] for _ in before]
    for run in range(1, runs):
        new_worst, new_cuts = worst[:], cuts[:]
        for stop in range(run + 1, len(before)):
            best = None
            for at in range(run, stop):  # the last run is segments [at, stop)
                heaviest = max(worst[at], before[stop] - before[at])
                if best is None or heaviest < best:
                    best, new_cuts[stop] = heaviest, [*cuts[at], at]
            new_worst[stop] = best
        worst, cuts = new_worst, new_cuts
    return cuts[-1]


# --- page numbers across pieces: the one place that reaches into WeasyPrint --------

# WeasyPrint lays out each page's margin boxes by calling this function of
# weasyprint.layout, after pagination and with the page's counters in ``state``
# (quote depth, counters, counter scopes, string sets). The pin in pyproject
# covers the versions whose function tests/test_parallel.py has checked.
HOOKED = "make_margin_boxes"
HOOKED_PARAMETERS = ("context", "page", "state")


@contextmanager
def numbered_pages(numbering):
    """For the layout inside the block, ``numbering(own_pages) -> (offset, total)``
    turns each page's "page X of Y" into "page X + offset of total"; WeasyPrint is as
    it was afterwards. The hook is process-wide: one layout at a time per process."""
    import weasyprint.layout as layout

    original = getattr(layout, HOOKED, None)
    if original is None or tuple(inspect.signature(original).parameters) != HOOKED_PARAMETERS:
        raise RenderError("this WeasyPrint lays out page margins differently from the "
                          "versions evidencepack knows", remedy="build with --jobs 1")

    def make_margin_boxes(context, page, state):
        if not (isinstance(state, tuple) and len(state) == 4 and "page" in state[1]):
            raise RenderError("this WeasyPrint keeps page counters differently from the "
                              "versions evidencepack knows", remedy="build with --jobs 1")
        quote_depth, counters, scopes, groups = state
        offset, total = numbering(counters["pages"][-1])
        counters = {**counters, "page": [counters["page"][-1] + offset], "pages": [total]}
        return original(context, page, (quote_depth, counters, scopes, groups))

    setattr(layout, HOOKED, make_margin_boxes)
    try:
        yield
    finally:
        setattr(layout, HOOKED, original)


def _once(exchange):
    """Ask once per layout; every later page of the piece gets the same answer."""
    answer = []

    def numbering(pages: int):
        if not answer:
            answer.append(exchange(pages))
        return answer[0]
    return numbering


@dataclass
class Laid:
    """What the parent needs of a laid-out piece."""

    pages: int
    # anchor -> (page index within the piece, x, y in PDF points from bottom-left)
    anchors: dict[str, tuple[int, float, float]]
    bookmarks: list
    blocked: list[str] = field(default_factory=list)
    pdf: bytes = b""


@contextmanager
def font_faces(css: str, fetcher):
    """One WeasyPrint font configuration for every layout of a pack, to pass to
    ``lay_out`` and ``render``.

    The stylesheet's @font-face fonts (the --font file; the fetcher refuses any
    other) are loaded into it here, once, before a layout process is forked:
    every process has them, and WeasyPrint's temporary copy of each is made once
    in this process. WeasyPrint removes those copies when the configuration is
    collected, which a forked process never does and a build that ends with the
    collector frozen (cli) never reaches: they are removed when the layout is done.
    """
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    config = FontConfiguration()
    try:
        CSS(string=css, url_fetcher=fetcher.weasy, font_config=config)
        yield config
    finally:
        config.__del__()  # WeasyPrint's own clean-up (removes its temporary folder)


def lay_out(html: str, css: str, fetcher, exchange=None, fonts=None):
    """WeasyPrint's layout of ``html``; ``exchange(pages) -> (offset, total)`` numbers
    the pages of a piece; ``fonts`` (from ``font_faces``) gives it @font-face fonts."""
    from weasyprint import CSS, HTML

    def render():
        return HTML(string=html, base_url=fetcher.base, url_fetcher=fetcher.weasy).render(
            stylesheets=[CSS(string=css, url_fetcher=fetcher.weasy, font_config=fonts)],
            font_config=fonts)

    if exchange is None:
        return render()
    with numbered_pages(_once(exchange)):
        return render()


def _laid(document) -> Laid:
    anchors = {}
    for index, page in enumerate(document.pages):
        for name, point in page.anchors.items():
            if name not in anchors:
                x, y = point[0], point[1]
                anchors[name] = (index, x * _PX_TO_PT, (page.height - y) * _PX_TO_PT)
    return Laid(pages=len(document.pages), anchors=anchors,
                bookmarks=document.make_bookmark_tree(scale=_PX_TO_PT, transform_pages=True))


def _write(document) -> bytes:
    """The piece's PDF, keeping links whose target lies in another piece.

    WeasyPrint drops a link to an anchor it has not laid out; an anchor of the
    same name on the piece's last page keeps it, and the stitched PDF's name
    tree, built from the real anchors only, decides where it lands.
    """
    own = {name for page in document.pages for name in page.anchors}
    elsewhere = {target for page in document.pages for kind, target, *_ in page.links
                 if kind == "internal" and target not in own}
    last = document.pages[-1]
    some = next(iter(last.anchors.values()), None) or (0, 0, 0, 0)
    for name in elsewhere:
        last.anchors[name] = tuple(0 for _ in some)
    return document.write_pdf()


# --- the processes -------------------------------------------------------------------

def _child(conn, html: str, css: str, fetcher, fonts) -> None:
    try:
        def exchange(pages):
            conn.send(("pages", pages))
            return conn.recv()

        document = lay_out(html, css, fetcher, exchange, fonts)
        laid = _laid(document)
        laid.blocked = fetcher.blocked
        conn.send(("laid", laid))
        conn.send(("pdf", _write(document)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        conn.close()


class _Child:
    def __init__(self, html: str, css: str, fetcher, fonts=None):
        ctx = multiprocessing.get_context("fork")
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_child, args=(theirs, html, css, fetcher, fonts),
                                   daemon=True)
        self.process.start()
        theirs.close()

    def expect(self, kind: str):
        try:
            got, value = self.conn.recv()
        except EOFError:
            raise RenderError("a layout process ended without a word (exit code "
                              f"{self.process.exitcode}); try again with --jobs 1") from None
        if got == "error":
            raise RenderError(f"the PDF could not be laid out ({value})")
        if got != kind:  # pragma: no cover - a protocol slip is a bug
            raise RenderError(f"layout process sent {got!r}, expected {kind!r}")
        return value

    def stop(self, wait: float = 0) -> None:
        """Let the child end by itself for up to ``wait`` seconds, then kill it."""
        self.conn.close()
        self.process.join(wait)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


@dataclass
class Stitched:
    pdf_writer: object  # pypdf.PdfWriter, pages in order, links, outline, metadata
    anchors: dict[str, int]  # anchor -> page index in the whole pack


def render(pieces: Pieces, cuts: list[int], css: str, fetcher, front_html,
           fonts=None) -> Stitched | None:
    """Lay the runs of sections out at once, the first in this process and each
    other in a forked one; then the front with real page numbers; then stitch.

    ``front_html(pages)`` renders the front with the contents' page numbers
    (anchor -> number) filled in. None when the front's page count changed with its
    real numbers (the caller lays the pack out whole instead).
    """
    bounds = [0, *cuts, len(pieces.segments)]
    children: list[_Child] = []
    try:
        for first, stop in zip(bounds[1:-1], bounds[2:]):
            children.append(_Child(pieces.run(first, stop), css, fetcher, fonts))
        placeholder = {name: PLACEHOLDER for name in _anchor_names(pieces)}
        placeholder.update((name, PLACEHOLDER) for name in _ID.findall(pieces.front))
        sketch = lay_out(pieces.html(front_html(placeholder)), css, fetcher, fonts=fonts)
        front_pages = len(sketch.pages)
        # The front's own anchors (the claims page the contents name) keep their pages.
        front_numbers = {name: str(index + 1) for index, page in enumerate(sketch.pages)
                         for name in page.anchors}

        def exchange(own_pages):
            counts = [own_pages, *(child.expect("pages") for child in children)]
            *starts, total = itertools.accumulate([front_pages, *counts])
            for child, start in zip(children, starts[1:]):
                child.conn.send((start, total))
            return front_pages, total

        first = lay_out(pieces.run(0, bounds[1]), css, fetcher, exchange, fonts)
        laid = [_laid(first), *(child.expect("laid") for child in children)]
        *starts, total = itertools.accumulate([front_pages, *(piece.pages for piece in laid)])
        numbers = {name: str(start + index + 1) for piece, start in zip(laid, starts)
                   for name, (index, _, _) in piece.anchors.items()}
        numbers.update(front_numbers)
        # The front while the other processes still draw their pieces.
        front_doc = lay_out(pieces.html(front_html(numbers)), css, fetcher,
                            lambda own: (0, total), fonts)
        if len(front_doc.pages) != front_pages:
            return None
        front = _laid(front_doc)
        front.pdf = _write(front_doc)
        laid[0].pdf = _write(first)
        for piece, child in zip(laid[1:], children):
            piece.pdf = child.expect("pdf")
            child.stop(wait=5)  # it has sent all it had: it ends at once
    finally:
        for child in children:
            child.stop()
    for piece in laid[1:]:
        fetcher.blocked.extend(piece.blocked)  # what the other processes refused
    return _stitch([front, *laid], [0, *starts])


_ID = re.compile(r'\sid="([^"]+)"')


def _anchor_names(pieces: Pieces) -> set[str]:
    return {m.group(1) for segment in pieces.segments for m in _ID.finditer(segment)}


def _stitch(laid: list[Laid], starts: list[int]) -> Stitched:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (ArrayObject, Fit, FloatObject, NameObject, NumberObject,
                               TextStringObject)

    writer = PdfWriter()
    front = PdfReader(io.BytesIO(laid[0].pdf))
    for piece in laid:
        reader = front if piece is laid[0] else PdfReader(io.BytesIO(piece.pdf))
        for page in reader.pages:
            writer.add_page(page)
    if front.metadata:
        writer.add_metadata(dict(front.metadata))
    lang = front.trailer["/Root"].get("/Lang")
    if lang is not None:
        writer.root_object[NameObject("/Lang")] = TextStringObject(str(lang))

    # One name tree from every piece's real anchors: the links each piece wrote
    # name their targets, and land here wherever the target was laid out.
    anchors: dict[str, int] = {}
    names = writer.get_named_dest_root()
    for name, start, (index, x, y) in sorted(
            (name, start, where) for piece, start in zip(laid, starts)
            for name, where in piece.anchors.items()):
        if name in anchors:
            continue
        anchors[name] = start + index
        names.extend([TextStringObject(name), ArrayObject([
            writer.pages[start + index].indirect_reference, NameObject("/XYZ"),
            FloatObject(x), FloatObject(y), NumberObject(0)])])

    def outline(items, start, parent=None):
        for label, (index, x, y), children, state in items:
            node = writer.add_outline_item(title=label, page_number=start + index,
                                           parent=parent, fit=Fit.xyz(x, y, 0),
                                           is_open=state != "closed")
            outline(children, start, node)

    for piece, start in zip(laid, starts):
        outline(piece.bookmarks, start)
    return Stitched(pdf_writer=writer, anchors=anchors)


def processes(jobs: int | None) -> int:
    """How many processes a layout may use: --jobs, or the usable cores (one where
    processes cannot be forked)."""
    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not POSIX
        return 1
    return workers(jobs)
