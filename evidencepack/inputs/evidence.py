"""Gathering a case's evidence files: kind, SHA-256, capture time and its source.

The case folder is read-only to us: files are opened for reading only, and a
symlink that leaves the folder is reported, never followed.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from concurrent.futures import ThreadPoolExecutor
import unicodedata
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from evidencepack.inputs.case import CASE_FILE, FOLDERS, Case
from evidencepack.inputs.documents import assign_doc_type
from evidencepack.errors import InputError, UnsafePathError
from evidencepack.inputs import ocr
from evidencepack.inputs.images import IMAGE_SUFFIXES, Probe, default_cache_dir, probe_cached
from evidencepack.models import EvidenceItem, EvidenceKind, TimeSource, Warning_
from evidencepack.inputs.safeio import LIMIT_REMEDY, LIMITS, TooLargeError, inside, read_regular
from evidencepack.workers import workers

TEXT_SUFFIXES = {".txt", ".log", ".csv", ".json", ".jsonl"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".avi", ".3gp", ".mkv"}
_IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}

# Exhibit label prefixes, in the order exhibits appear in the pack.
LABEL_PREFIX = {
    EvidenceKind.listing_screenshot: "L",
    EvidenceKind.preship_photo: "P",
    EvidenceKind.preship_video: "V",
    EvidenceKind.chat_log: "C",
    EvidenceKind.chat_screenshot: "C",
    EvidenceKind.tracking_export: "T",
    EvidenceKind.tracking_screenshot: "T",
    EvidenceKind.return_photo: "R",
    EvidenceKind.document: "D",
    EvidenceKind.other: "O",
}
KIND_ORDER = list(LABEL_PREFIX)
# Where each kind of evidence goes in the case folder (a label's letter names it).
FOLDER_OF_PREFIX = {"L": "listing/", "P": "preship/", "V": "preship/", "C": "chat/",
                    "T": "tracking/", "R": "returns/", "D": "reports/", "O": "other/"}


def folders_for(rules) -> list[str]:
    """The folders where evidence that would satisfy a checklist item's rules goes."""
    folders: list[str] = []
    for rule in rules:
        for kind in getattr(rule, "evidence", []) or []:
            folder = FOLDER_OF_PREFIX[LABEL_PREFIX[kind]]
            if folder not in folders:
                folders.append(folder)
        if getattr(rule, "kind", "") in ("chat_tag", "chat_tag_absent") and "chat/" not in folders:
            folders.append("chat/")
    return folders

# Kinds read as text exports (parsed whole, so their size is limited).
TEXT_KINDS = {EvidenceKind.chat_log, EvidenceKind.tracking_export}

# Kinds whose images are screenshots: their text must stay sharp, so they are
# kept lossless and reduced last.
SCREENSHOT_KINDS = {EvidenceKind.listing_screenshot, EvidenceKind.chat_screenshot,
                    EvidenceKind.tracking_screenshot}


def kind_for(folder: str, suffix: str) -> EvidenceKind:
    suffix = suffix.lower()
    image = suffix in IMAGE_SUFFIXES
    if folder == "chat":
        return EvidenceKind.chat_screenshot if image else EvidenceKind.chat_log
    if folder == "tracking":
        return EvidenceKind.tracking_screenshot if image else EvidenceKind.tracking_export
    if folder == "listing":
        return EvidenceKind.listing_screenshot
    if folder == "preship":
        return EvidenceKind.preship_video if suffix in VIDEO_SUFFIXES else EvidenceKind.preship_photo
    if folder == "returns":
        return EvidenceKind.return_photo
    if folder == "reports":
        return EvidenceKind.document
    return EvidenceKind.other


# Phone and chat-app file names that carry the capture time.
_NAME_PATTERNS = [
    # IMG_20240309_150200.jpg, VID_20240309_150200.mp4, PXL_20240309_150200123.jpg
    re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})[_-](\d{2})(\d{2})(\d{2})"),
    # Screenshot_2024-03-09-15-02-00.png, Screenshot 2024-03-09 at 15.02.00.png
    re.compile(r"(20\d{2})-(\d{2})-(\d{2})[-_ T]+(?:at )?(\d{2})[-.:](\d{2})[-.:](\d{2})"),
    # 微信图片_20240309150200.jpg
    re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?!\d)"),
]
_EPOCH_MS = re.compile(r"(?:mmexport|wx_camera_|IMG_|Screenshot_)?(?<!\d)(1[0-9]{12})(?!\d)")


def time_from_name(name: str, tz: ZoneInfo) -> datetime | None:
    for pattern in _NAME_PATTERNS:
        match = pattern.search(name)
        if match:
            try:
                return datetime(*map(int, match.groups()), tzinfo=tz)
            except ValueError:
                continue
    match = _EPOCH_MS.search(name)
    if match:
        # mmexport1709967720000.jpg: WeChat's export names carry epoch milliseconds.
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=timezone.utc).astimezone(tz)
    return None


# Bidirectional controls can make "gpj.exe" read as "exe.jpg"; always shown escaped.
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                     "\u2066\u2067\u2068\u2069")


def _needs_escape(ch: str) -> bool:
    # Only what breaks a one-line display or can spoof one: control characters,
    # line/paragraph separators and bidi controls. Not every non-printable:
    # str.isprintable() is False for U+3000 and U+00A0, which Chinese and macOS
    # file names carry, and an escaped name no longer names the file on disk.
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS


def escape_controls(text: str) -> str:
    """``text`` on one line, unspoofable: control characters, line separators and
    bidi controls written as escapes (``\\n``, ``\\x1b``, ``\\u202e``)."""
    return "".join(ch.encode("unicode_escape").decode() if _needs_escape(ch) else ch
                   for ch in text)


def display_path(rel: PurePosixPath) -> str:
    """A printable form of a path: undecodable bytes and control characters escaped."""
    raw = os.fsencode(str(rel))
    return escape_controls(raw.decode("utf-8", errors="backslashreplace"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _outside_message(path: Path) -> str:
    try:
        path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "symlink is a loop or dangles; not included"
    return "symlink points outside the case folder; not included"


def _walk(case_dir: Path, warnings: list[Warning_]) -> list[tuple[PurePosixPath, Path]]:
    found: list[tuple[PurePosixPath, Path]] = []
    root = case_dir.resolve()
    for entry in sorted(case_dir.iterdir(), key=lambda p: os.fsencode(p.name)):
        if entry.name == CASE_FILE or entry.name.startswith(".") or entry.name in _IGNORED_NAMES:
            continue
        if entry.is_file():
            warnings.append(Warning_(path=display_path(PurePosixPath(entry.name)),
                                     message="file at the top of the case folder is not "
                                             "evidence; put it in one of: " + ", ".join(FOLDERS)))
            continue
        if entry.is_symlink() and not inside(root, entry):
            warnings.append(Warning_(path=display_path(PurePosixPath(entry.name)),
                                     message=_outside_message(entry)))
            continue
        if entry.name not in FOLDERS:
            warnings.append(Warning_(path=display_path(PurePosixPath(entry.name)),
                                     message="unknown folder; its files count as 'other'"))
        for dirpath, dirnames, filenames in os.walk(entry, followlinks=False):
            dirnames.sort(key=os.fsencode)
            # os.walk lists a symlinked folder but does not enter it; say so,
            # or its files would vanish from the pack without a word.
            for name in dirnames:
                sub = Path(dirpath) / name
                if sub.is_symlink():
                    rel = PurePosixPath(sub.relative_to(case_dir).as_posix())
                    warnings.append(Warning_(path=display_path(rel), message=(
                        _outside_message(sub) if not inside(root, sub) else
                        "symlinked folder not followed; its files count where they really are")))
            for name in sorted(filenames, key=os.fsencode):
                if name.startswith(".") or name in _IGNORED_NAMES:
                    continue
                path = Path(dirpath) / name
                rel = PurePosixPath(path.relative_to(case_dir).as_posix())
                if path.is_symlink() and not inside(root, path):
                    warnings.append(Warning_(path=display_path(rel),
                                             message=_outside_message(path)))
                    continue
                if not path.is_file():
                    continue
                found.append((rel, path))
                if len(found) > LIMITS["case"]["max_files"]:
                    raise InputError(f"the case folder holds more than "
                                     f"{LIMITS['case']['max_files']} evidence files",
                                     path=case_dir, remedy="split the evidence into several "
                                     "cases; limits are listed in the README")
    return found


def case_relative(case_dir: Path, raw: str, *, field: str, what: str) -> PurePosixPath:
    """A path case.toml names, which must stay in the case folder: relative, no
    ``..``, and no symlink on the way out."""
    rel = PurePosixPath(raw.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or not inside(case_dir, case_dir / rel):
        raise UnsafePathError(f"{what} points outside the case folder",
                              path=case_dir / CASE_FILE, field=field)
    return rel


def gather(case_dir: Path, case: Case, *, jobs: int | None = None
           ) -> tuple[list[EvidenceItem], list[Warning_]]:
    """Every evidence file of the case, hashed and timed, in pack order and labelled.
    ``jobs``: threads hashing and decoding (None: one per usable core)."""
    warnings: list[Warning_] = []
    tz = case.tz
    overrides = {}
    for override in case.evidence:
        rel = case_relative(case_dir, override.path, field=f"evidence.path {override.path!r}",
                            what="per-file override")
        if not (case_dir / rel).is_file():
            raise InputError(f"per-file override names {override.path!r}, which does not exist",
                             path=case_dir / CASE_FILE, field="evidence.path",
                             remedy="fix the path or remove the [[evidence]] block")
        overrides[rel] = override

    cache_dir = default_cache_dir()

    def inspect(entry: tuple[PurePosixPath, Path]):
        rel, path = entry
        override = overrides.get(rel)
        kind = (override.kind if override and override.kind
                else kind_for(rel.parts[0] if len(rel.parts) > 1 else "other", rel.suffix))
        probed = None
        read: tuple = (None, None)
        try:
            stat = path.stat()
            if rel.suffix.lower() in IMAGE_SUFFIXES:
                # Hashed and decoded from the same bytes, read once.
                try:
                    data = read_regular(path, limit=LIMITS["files"]["max_binary_bytes"],
                                        display=display_path(rel), what="image")
                except TooLargeError as exc:
                    digest = sha256_file(path)
                    probed = Probe(problems=[f"{exc.bare_message}; not decoded"])
                else:
                    digest = hashlib.sha256(data).hexdigest()
                    probed = probe_cached(data, digest, tz, cache_dir,
                                          screenshot=kind in SCREENSHOT_KINDS)
                    if kind in SCREENSHOT_KINDS and probed.info is not None:
                        # In the photo threads: reading a screenshot overlaps
                        # decoding the photos.
                        read = ocr.read_cached(data, digest, cache_dir, frame=probed.frame)
                    probed.frame = None
                    del data
            else:
                if kind in TEXT_KINDS and stat.st_size > LIMITS["files"]["max_text_bytes"]:
                    # Refused before hashing: a 2 GB sparse "chat" took 23 s to hash.
                    raise TooLargeError("text file is larger than the limit of "
                                        f"{LIMITS['files']['max_text_bytes'] // 1_000_000} MB",
                                        path=display_path(rel), remedy=LIMIT_REMEDY)
                digest = sha256_file(path)
        except OSError as exc:
            raise InputError(f"cannot read evidence file ({exc.strerror})",
                             path=display_path(rel)) from exc
        return rel, path, stat, digest, kind, probed, read

    # Hashing and decoding release the GIL: one thread per core halves a
    # photo-heavy case's check time on two cores.
    with ThreadPoolExecutor(max_workers=workers(jobs)) as pool:
        inspected = list(pool.map(inspect, _walk(case_dir, warnings)))

    items: list[EvidenceItem] = []
    for rel, path, stat, digest, kind, probed, (text, unread) in inspected:
        override = overrides.get(rel)
        media_type = mimetypes.guess_type(rel.name)[0] or "application/octet-stream"
        item = EvidenceItem(path=display_path(rel), fs_path=str(rel), kind=kind, size=stat.st_size,
                            sha256=digest, media_type=media_type,
                            caption=override.caption if override else None)
        exif_time = None
        if probed is not None:
            item.image = probed.info
            item.problems.extend(probed.problems)
            exif_time = probed.exif_time
        item.ocr, item.ocr_problem = text, unread
        if stat.st_size == 0:
            item.problems.append("file is empty (0 bytes)")
        _set_time(item, override.captured_at if override else None, exif_time,
                  rel.name, stat.st_mtime, tz)
        assign_doc_type(item, path, override.doc_type if override else None)
        items.append(item)
    order_and_label(items)
    return items, warnings


def _set_time(item: EvidenceItem, override: datetime | None, exif: datetime | None,
              name: str, mtime: float, tz: ZoneInfo) -> None:
    from_name = time_from_name(name, tz)
    for value, source in ((override, TimeSource.override), (exif, TimeSource.exif),
                          (from_name, TimeSource.filename)):
        if value is not None:
            item.captured_at, item.time_source = value, source
            return
    item.captured_at = datetime.fromtimestamp(mtime, tz=timezone.utc).astimezone(tz)
    item.time_source = TimeSource.mtime


def order_and_label(items: list[EvidenceItem]) -> None:
    """Sort into pack order (by kind, then capture time) and give exhibit labels."""
    items.sort(key=lambda i: (KIND_ORDER.index(i.kind), i.captured_at is None,
                              i.captured_at or datetime.max.replace(tzinfo=timezone.utc),
                              i.path))
    counters: dict[str, int] = {}
    for item in items:
        prefix = LABEL_PREFIX[item.kind]
        counters[prefix] = counters.get(prefix, 0) + 1
        item.label = f"{prefix}{counters[prefix]}"
