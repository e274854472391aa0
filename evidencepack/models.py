"""Pydantic models shared by the pipeline stages.

Every datetime here is timezone-aware; parsers convert naive times into the
case's zone before building these models.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class EvidenceKind(str, Enum):
    chat_log = "chat_log"
    chat_screenshot = "chat_screenshot"
    listing_screenshot = "listing_screenshot"
    preship_photo = "preship_photo"
    preship_video = "preship_video"
    tracking_export = "tracking_export"
    tracking_screenshot = "tracking_screenshot"
    return_photo = "return_photo"
    document = "document"
    other = "other"


class DocType(str, Enum):
    """What a document is; names and the words that recognise each are in
    evidencepack/data/doc_types.toml."""

    signing_slip = "signing_slip"
    invoice = "invoice"
    inspection_report = "inspection_report"
    claim_receipt = "claim_receipt"
    authorisation = "authorisation"
    purchase_record = "purchase_record"
    other = "other"


class TimeSource(str, Enum):
    """Where a capture time came from, so the pack can say so."""

    override = "case.toml"
    exif = "EXIF"
    filename = "file name"
    mtime = "file modified time"
    none = "unknown"


class Warning_(Model):
    """A problem with one input that did not stop the run."""

    path: str
    line: int | None = None
    message: str

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {self.message}"


def capped_warnings(warnings: list[Warning_], path: str, limit: int,
                    unlisted: int = 0) -> list[Warning_]:
    """At most ``limit`` warnings about one file, then one that counts the rest
    (``unlisted`` more were counted and never kept)."""
    more = max(0, len(warnings) - limit) + unlisted
    if not more:
        return warnings
    return warnings[:limit] + [Warning_(path=path, message=f"{more:,} more problem(s) of this "
                                                            "file not listed")]


# --- chat -----------------------------------------------------------------

class ChatRole(str, Enum):
    buyer = "buyer"
    seller = "seller"
    platform = "platform"
    system = "system"
    unknown = "unknown"


class ChatMessage(Model):
    at: AwareDatetime
    sender: str
    role: ChatRole
    text: str
    # "text" for what a person typed; others for system lines the export shows
    # (order card, image placeholder, recalled message, auto-reply).
    kind: Literal["text", "image", "order_card", "recalled", "auto_reply", "system"] = "text"
    tags: list[str] = Field(default_factory=list)
    source: str  # file path relative to the case folder
    line: int  # 1-based line (or record) number in the source file; a screenshot's n-th message
    # A message read from a screenshot by OCR says so, with the lowest confidence
    # of its recognised lines (0-1): the pack shows the screenshot beside it.
    read_from: Literal["export", "screenshot"] = "export"
    confidence: float | None = None


class ChatLog(Model):
    messages: list[ChatMessage] = Field(default_factory=list)
    warnings: list[Warning_] = Field(default_factory=list)


# --- tracking -------------------------------------------------------------

class TrackingStatus(str, Enum):
    picked_up = "picked_up"
    in_transit = "in_transit"
    arrived = "arrived"
    out_for_delivery = "out_for_delivery"
    signed = "signed"
    signed_by_third_party = "signed_by_third_party"
    locker_or_station = "locker_or_station"
    problem = "problem"
    held = "held"
    returning = "returning"
    returned = "returned"
    refused = "refused"
    mis_sorted = "mis_sorted"
    forwarded = "forwarded"
    customs = "customs"
    unknown = "unknown"


class TrackingEvent(Model):
    at: AwareDatetime
    status: TrackingStatus
    text: str
    location: str | None = None
    code: str | None = None  # the courier API's own status code, when given
    source: str
    line: int
    read_from: Literal["export", "screenshot"] = "export"


class TrackingGap(Model):
    start: AwareDatetime
    end: AwareDatetime
    hours: float


class TrackingTimeline(Model):
    carrier: str | None = None  # our carrier code, e.g. "yuantong"
    carrier_name: str | None = None
    number: str | None = None
    state: str | None = None  # the courier's overall state code, when given
    events: list[TrackingEvent] = Field(default_factory=list)  # oldest first
    warnings: list[Warning_] = Field(default_factory=list)


class TrackingFacts(Model):
    shipped_at: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None
    signer_kind: Literal["self", "third_party", "locker_or_station", "unknown"] | None = None
    third_party_signed: bool = False
    longest_gap_hours: float | None = None
    gaps_over_72h: list[TrackingGap] = Field(default_factory=list)
    over_7_days_without_update: bool = False
    returned: bool = False
    refused: bool = False
    transit_days: float | None = None
    last_event_at: AwareDatetime | None = None


# --- evidence -------------------------------------------------------------

class ImageInfo(Model):
    width: int
    height: int
    format: str | None = None
    # Quality measurements for the checklist's image rules.
    sharpness: float | None = None  # variance of a Laplacian on a small grey copy
    brightness: float | None = None  # mean grey level 0-255
    ahash: str | None = None  # 256-bit average hash, hex, for near-duplicates


class OcrLine(Model):
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 on the page frame (OcrText's size)
    confidence: float


class OcrText(Model):
    """The text a screenshot shows, line by line, as the OCR engine read it."""

    engine: str
    width: int  # of the frame read, which is the pack's copy of the screenshot
    height: int
    lines: list[OcrLine] = Field(default_factory=list)
    # Regions that are pictures, not text (a photo or sticker sent in a chat), same frame.
    pictures: list[tuple[int, int, int, int]] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class EvidenceItem(Model):
    path: str  # relative to the case folder, POSIX separators, escaped for display
    # The name as the file system has it (may hold newlines or undecodable bytes
    # as surrogates): what we open. Never shown, never serialised.
    fs_path: str = Field(default="", exclude=True, repr=False)
    kind: EvidenceKind
    size: int
    sha256: str
    media_type: str
    captured_at: AwareDatetime | None = None
    time_source: TimeSource = TimeSource.none
    caption: str | None = None
    label: str | None = None  # exhibit label, e.g. "P1"
    # For documents (reports/, other/ or a case.toml override): what the file is,
    # and whether case.toml, the file name or the PDF's text said so.
    doc_type: DocType | None = None
    doc_type_source: Literal["case.toml", "file name", "PDF text"] | None = None
    image: ImageInfo | None = None
    problems: list[str] = Field(default_factory=list)  # unreadable, truncated, ...
    # A screenshot's recognised text; when None, why it was not read (the agent's
    # note: the engine is not installed, or the image does not decode).
    ocr: OcrText | None = None
    ocr_problem: str | None = None

    @property
    def is_image(self) -> bool:
        return self.image is not None

    def source(self, case_dir: Path) -> Path:
        return case_dir / (self.fs_path or self.path)

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]
