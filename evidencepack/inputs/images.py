"""Opening evidence images safely, reading their capture time and quality, and
preparing page-sized copies for the PDF.

Evidence photos come from phones and buyers: they may be truncated, huge,
CMYK, 16-bit, animated or not images at all. Nothing here may crash a build;
problems become notes on the exhibit.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageFile, ImageFilter, ImageStat, UnidentifiedImageError

from evidencepack.atomic import write_atomic
from evidencepack.models import ImageInfo
from evidencepack.inputs.safeio import LIMITS, read_verified
from evidencepack.inputs.times import in_range

# 12 MP phone photos are normal; 64 MP phones exist. Past this, a file is more
# likely a decompression bomb than evidence.
MAX_PIXELS = 120_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff",
                  ".heic", ".heif"}

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306
_ORIENTATION = 274

# Version of probe()'s output: bump when it changes, so cached results of an
# older probe are not served.
PROBE_VERSION = "2"

# Version of the preparation recipe: bump when prepare() output changes so the
# content-addressed cache does not serve stale copies.
RECIPE = "1"


@dataclass
class Probe:
    info: ImageInfo | None = None
    exif_time: datetime | None = None
    problems: list[str] = field(default_factory=list)
    # A screenshot's page frame, just decoded, for the OCR to read without decoding it
    # again; None for photos (40 frames would be kept for nothing) and cached probes.
    frame: Image.Image | None = field(default=None, repr=False)


def _open(source: Path | io.BytesIO) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(source)


def _strict() -> None:
    """Make Pillow raise on a truncated file, as it does by default.

    Importing WeasyPrint sets ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` for the
    whole process, after which Pillow pads a truncated photo with grey instead of
    failing: a probe after any build in the same process (tests, batch workers)
    would call a half-received photo fine, and a truncated cache entry would be
    trusted. evidencepack never wants that: WeasyPrint only ever loads our
    prepared copies, which are checked against their recorded digest. So the
    flag is turned back off before every decode and left off, which needs no
    lock (the previous save-and-restore under a lock serialised all probing).
    """
    ImageFile.LOAD_TRUNCATED_IMAGES = False


def _exif_time(img: Image.Image, tz: ZoneInfo) -> tuple[datetime | None, str | None]:
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - any malformed EXIF is just "no time"
        return None, "EXIF could not be read"
    sub = exif.get_ifd(_EXIF_IFD) if exif else {}
    raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not raw:
        return None, None
    text = str(raw).strip().strip("\x00")
    try:
        naive = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, f"EXIF date {text[:40]!r} is not a date; not used"
    try:
        # A camera whose clock was never set says 0001 or 9999, and applying an
        # offset to either overflows.
        in_range(naive)
    except ValueError as exc:
        return None, f"EXIF date {text[:40]!r}: {exc}; not used"
    offset = str(sub.get(_OFFSET_TIME_ORIGINAL) or "").strip().strip("\x00")
    if len(offset) == 6 and offset[0] in "+-" and offset[3] == ":":
        try:
            sign = 1 if offset[0] == "+" else -1
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            return naive.replace(tzinfo=timezone(sign * delta)).astimezone(tz), None
        except ValueError:
            pass
    # EXIF without an offset is the camera's local time; the case's zone is the
    # best reading, and the pack says the time came from EXIF.
    return naive.replace(tzinfo=tz), None


def _draft(img: Image.Image, mode: str, limit: int) -> None:
    """Let the JPEG decoder skip detail we will throw away (DCT scaling)."""
    if img.format != "JPEG":
        return
    w, h = img.size
    scale = limit / max(w, h)
    if scale < 1:
        # draft() only reduces when the requested box keeps the aspect ratio.
        img.draft(mode, (max(1, int(w * scale)), max(1, int(h * scale))))


def _grey_thumb(frame: Image.Image) -> Image.Image:
    grey = frame.convert("L")
    grey.thumbnail((512, 512))
    return grey


def _sharpness(grey: Image.Image) -> float:
    # Variance of a Laplacian: low when a photo is blurred.
    lap = grey.filter(ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1,
                                         offset=128))
    # Pillow copies the outermost pixels unfiltered; they would count as edges.
    w, h = lap.size
    if w > 2 and h > 2:
        lap = lap.crop((1, 1, w - 1, h - 1))
    return round(ImageStat.Stat(lap).var[0], 1)


def _ahash(grey: Image.Image) -> str:
    # 16×16 rather than the classic 8×8: two different photos of one parcel on
    # one table collide at 8×8, while a re-saved or resized copy stays within a
    # few bits at either size.
    small = grey.resize((16, 16), Image.Resampling.BILINEAR)
    pixels = small.tobytes()
    mean = sum(pixels) / len(pixels)
    bits = 0
    for value in pixels:
        bits = (bits << 1) | (value >= mean)
    return f"{bits:064x}"


def probe(path: Path, tz: ZoneInfo, *, screenshot: bool = False) -> Probe:
    """Read size, capture time and quality of an image, without ever raising."""
    return _probe(path, tz, _limit(Recipe(), screenshot))[0]


def _probe(source: Path | io.BytesIO, tz: ZoneInfo, limit: int) -> tuple[Probe, Image.Image | None]:
    """The probe, and the decoded page frame its quality was measured on.

    Decoding a 12 MP JPEG is most of the cost of both probing and preparing it,
    so the quality measures come from the very frame the pack shows (oriented,
    reduced to the recipe's size), and a build decodes each photo once.
    """
    result = Probe()
    _strict()
    try:
        img = _open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        result.problems.append(f"image larger than {MAX_PIXELS // 1_000_000} MP; not decoded "
                               "(possible decompression bomb)")
        return result, None
    except UnidentifiedImageError:
        result.problems.append("not a readable image (wrong extension, corrupt, or an "
                               "unsupported format such as HEIC)")
        return result, None
    except OSError as exc:
        result.problems.append(f"cannot open image ({exc})")
        return result, None
    except Exception as exc:  # noqa: BLE001 - e.g. a PNG chunk name that is not ASCII
        result.problems.append(f"not a readable image ({type(exc).__name__}: {exc})")
        return result, None
    with img:
        width, height = img.size
        info = ImageInfo(width=width, height=height, format=img.format)
        try:
            # Reading metadata decodes data too: a PNG's EXIF may follow its pixels,
            # a GIF's frames are counted by seeking through them. Pillow raises
            # OSError, struct.error, EOFError, IndexError... on damaged files.
            orientation = (img.getexif().get(_ORIENTATION) if hasattr(img, "getexif")
                           else None)
            frames = getattr(img, "n_frames", 1)
            exif_time, exif_problem = _exif_time(img, tz)
        except Exception as exc:  # noqa: BLE001 - a damaged file is a note, not a crash
            result.problems.append(f"image data is damaged or truncated ({exc or type(exc).__name__})")
            return result, None
        valid_orientation = orientation is None or orientation in range(1, 9)
        if not valid_orientation:
            result.problems.append(f"EXIF orientation {orientation} is invalid; shown as stored")
        if frames > 1:
            result.problems.append(f"animated image with {frames} frames; "
                                   "the first frame is shown")
        result.exif_time = exif_time
        if exif_problem:
            result.problems.append(exif_problem)
        try:
            frame = _page_frame(img, limit, valid_orientation)
            grey = _grey_thumb(frame)
            info.sharpness = _sharpness(grey)
            info.brightness = round(ImageStat.Stat(grey).mean[0], 1)
            info.ahash = _ahash(grey)
        except Image.DecompressionBombError:  # pragma: no cover - caught at open
            result.problems.append("image too large to decode")
            return result, None
        except Exception as exc:  # noqa: BLE001 - as above: damaged data, never a crash
            result.problems.append(f"image data is damaged or truncated ({exc or type(exc).__name__})")
            return result, None
        result.info = info
    return result, frame


def probe_cached(data: bytes, sha256: str, tz: ZoneInfo, cache_dir: Path, *,
                 screenshot: bool = False) -> Probe:
    """``probe`` of an image's bytes, remembered by their digest: agents run `check`
    again and again, and decoding every 12 MP original each time was most of its run time.

    A probe that decodes also leaves the page copy for the default recipe in the
    cache, so the build after a `check` decodes nothing again. ``data`` are the
    very bytes ``sha256`` was taken of (read once): a file rewritten meanwhile can
    never put its picture in the cache under the digest of the first.
    """
    recipe = Recipe()
    limit = _limit(recipe, screenshot)
    entry = cache_entry(cache_dir, "probe", PROBE_VERSION, sha256, tz.key, str(limit))
    cached = read_cached(entry)
    if cached is not None:
        try:
            return Probe(info=ImageInfo(**cached["info"]) if cached["info"] else None,
                         exif_time=datetime.fromisoformat(cached["exif_time"])
                         if cached["exif_time"] else None,
                         problems=list(cached["problems"]))
        except (ValueError, KeyError, TypeError):
            pass  # damaged: probe again and rewrite it
    result, frame = _probe(io.BytesIO(data), tz, limit)
    record = {"info": result.info.model_dump() if result.info else None,
              "exif_time": result.exif_time.isoformat() if result.exif_time else None,
              "problems": result.problems}
    try:
        if frame is not None:
            _save_copy(frame, cache_dir / _cache_name(sha256, recipe, screenshot), recipe, screenshot)
    except OSError:
        pass  # a read-only cache only costs speed
    write_cached(entry, record)
    if screenshot:
        result.frame = frame
    return result


def cache_entry(cache_dir: Path, namespace: str, *key: str) -> Path:
    """Where a result computed from an image's bytes is remembered: ``key`` holds the
    image's digest and every version or setting the result depends on."""
    digest = hashlib.sha256("|".join((namespace, *key)).encode()).hexdigest()[:32]
    return cache_dir / namespace / f"{digest}.json"


def read_cached(entry: Path) -> dict | None:
    """A remembered result, or None when absent or damaged (computed again then)."""
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_cached(entry: Path, record: dict) -> None:
    try:
        write_atomic(entry, json.dumps(record, ensure_ascii=False).encode("utf-8"), durable=False)
    except OSError:
        pass  # a read-only cache only costs speed


# --- preparing page-sized copies ----------------------------------------------

@dataclass(frozen=True)
class Recipe:
    """How to reduce an image for the page; part of the cache key."""

    # A photo is shown at most 92 mm tall (two to a page): 1000 px is over 200 dpi
    # there, and a 12 MP JPEG decodes straight to it at 1/4 scale (DCT scaling), a
    # quarter of the time 1400 px took. q70 keeps 40 photos of a large case, with
    # a 10-page report, under 10 MB (benchmarks/run.py).
    max_px: int = 1000
    quality: int = 70
    screenshot_max_px: int = 2200


def default_cache_dir() -> Path:
    if os.environ.get("EVIDENCEPACK_CACHE"):
        return Path(os.environ["EVIDENCEPACK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evidencepack"


def _cache_name(sha256: str, recipe: Recipe, screenshot: bool) -> str:
    key = f"{RECIPE}|{sha256}|{recipe.max_px}|{recipe.quality}|{recipe.screenshot_max_px}|{screenshot}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return digest + (".png" if screenshot else ".jpg")


def _is_valid_cached(path: Path) -> bool:
    # An entry is trusted only when its bytes match the digest recorded when it
    # was written: a JPEG with a flipped bit still decodes, and would go into a
    # pack unnoticed.
    try:
        recorded = path.with_name(path.name + ".sha256").read_text(encoding="ascii").strip()
        return hashlib.sha256(path.read_bytes()).hexdigest() == recorded
    except (OSError, UnicodeDecodeError):
        return False


def _limit(recipe: Recipe, screenshot: bool) -> int:
    return recipe.screenshot_max_px if screenshot else recipe.max_px


_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


def _page_frame(img: Image.Image, limit: int, valid_orientation: bool) -> Image.Image:
    """Decode ``img`` as the pack shows it: oriented, RGB, at most ``limit`` px."""
    orientation = img.getexif().get(_ORIENTATION, 1) if valid_orientation else 1
    _draft(img, "RGB", limit)
    frame = img
    if img.format != "JPEG" and img.mode in ("RGB", "RGBA", "L", "CMYK") \
            and max(img.size) >= 2 * limit:
        # PNGs have no draft mode: shrink before converting, so a 100 MP PNG is
        # not copied at full size again (RGB, then oriented).
        frame = img.reduce(max(img.size) // limit)
    if orientation in _TRANSPOSE:
        frame = frame.transpose(_TRANSPOSE[orientation])
    frame = _to_rgb(frame)
    if frame is img:
        frame = img.copy()  # the caller closes img; the frame outlives it
    frame.thumbnail((limit, limit), Image.Resampling.LANCZOS)
    return frame


def _save_copy(frame: Image.Image, target: Path, recipe: Recipe, screenshot: bool) -> None:
    buf = io.BytesIO()
    if screenshot:
        frame.save(buf, "PNG", optimize=False, compress_level=6)
    else:
        frame.save(buf, "JPEG", quality=recipe.quality, optimize=True, progressive=False)
    data = buf.getvalue()
    write_atomic(target, data, durable=False)
    write_atomic(target.with_name(target.name + ".sha256"),
                 hashlib.sha256(data).hexdigest().encode("ascii"), durable=False)


def prepare(src: Path, sha256: str, *, screenshot: bool, recipe: Recipe,
            cache_dir: Path) -> Path:
    """Return a page-ready copy of ``src`` (orientation applied, reduced, re-encoded).

    Photos become JPEGs; screenshots stay lossless PNG so their text stays sharp.
    The copy is cached by the source's digest and the recipe, and made only from
    bytes that hash to it (ChangedFileError otherwise).
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / _cache_name(sha256, recipe, screenshot)
    if target.exists() and _is_valid_cached(target):
        return target
    data = read_verified(src, sha256, limit=LIMITS["files"]["max_binary_bytes"], what="image")
    _strict()
    with _open(io.BytesIO(data)) as img:
        frame = _page_frame(img, _limit(recipe, screenshot), _valid_orientation(img))
    _save_copy(frame, target, recipe, screenshot)
    return target


def screenshot_frame(data: bytes) -> Image.Image | None:
    """A screenshot's bytes decoded as the pack shows them (oriented, RGB, reduced as
    the recipe reduces screenshots), for reading its text: positions found on this
    frame are positions on the page copy. None when it cannot be decoded (the
    probe has said why)."""
    _strict()
    try:
        with _open(io.BytesIO(data)) as img:
            return _page_frame(img, _limit(Recipe(), True), _valid_orientation(img))
    except Exception:  # noqa: BLE001 - an undecodable file is the probe's note, not a crash
        return None


def _valid_orientation(img: Image.Image) -> bool:
    try:
        return img.getexif().get(_ORIENTATION, 1) in range(1, 9)
    except Exception:  # noqa: BLE001
        return False


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode != "RGB":
        return img.convert("RGB")
    return img
