"""What a caller can ask of a check or a build: one frozen model each, the same
for the command line, batch workers, the benchmark and library users.

A build's options are a check's plus the pack's; ``BuildOptions.resolved`` fills
what depends on the case (output name, time stamp, the platform's size and page
limits) once, so every later stage reads settled values."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

if TYPE_CHECKING:
    from evidencepack.pipeline import Analysis

# For profiles that state no image limit: the Taobao refund-message figure.
DEFAULT_IMAGE_LIMIT = 512_000


class CheckOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    lang: Literal["zh", "en"] | None = None  # None: the platform profile's language
    now: AwareDatetime | None = None  # None: the clock, in the case's zone
    redact: bool = False
    checklist_dirs: tuple[Path, ...] = ()
    jobs: int | None = None  # threads for photos, processes for layout; None: usable cores


class BuildOptions(CheckOptions):
    output: Path | None = None  # None: ./CASE_ID.pdf
    generated_at: AwareDatetime | None = None  # None: the check's "now"
    templates: Path | None = None  # a user's folder overriding the built-in files
    max_size: int | None = None  # bytes; None: the platform's PDF limit, if any
    max_pages: int | None = None  # None: the platform's page limit, if any
    attach_originals: bool = False
    cache_dir: Path | None = None  # None: EVIDENCEPACK_CACHE or the user cache folder
    font: Path | None = None  # a TTF/OTF/TTC for the whole pack; None: fontconfig's CJK font
    images_dir: Path | None = None  # also write every page as an upload-sized JPEG here
    image_limit: Literal["message", "refusal"] = "message"

    def resolved(self, analysis: Analysis) -> BuildOptions:
        upload = analysis.profile.upload
        return self.model_copy(update={
            "output": self.output or Path(f"{analysis.case.case_id}.pdf"),
            "generated_at": self.generated_at or analysis.now,
            "max_size": self.max_size if self.max_size is not None
            else (upload.pdf_max_bytes if upload.accepts_pdf else None),
            "max_pages": self.max_pages if self.max_pages is not None
            else (upload.pdf_max_pages if upload.accepts_pdf else None),
        })

    def image_max_bytes(self, analysis: Analysis) -> int:
        upload = analysis.profile.upload
        return (upload.refusal_proof_max_bytes if self.image_limit == "refusal"
                else upload.image_max_bytes) or DEFAULT_IMAGE_LIMIT
