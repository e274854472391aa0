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
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageFile, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError

from evidencepack.atomic import write_atomic
from evidencepack.models import ImageInfo

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
PROBE_VERSION = "1"

# Version of the preparation recipe: bump when prepare() output changes so the
# content-addressed cache does not serve stale copies.
RECIPE = "1"


@dataclass
class Probe:
    info: ImageInfo | None = None
    exif_time: datetime | None = None
    problems: list[str] = field(default_factory=list)


def _open(path: Path) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(path)


_STRICT = threading.Lock()


@contextmanager
def _strict_decoding():
    """Make Pillow raise on a truncated file for the duration of one check.

    Importing WeasyPrint sets ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` for the
    whole process, after which Pillow pads a truncated photo with grey instead of
    failing: a probe after any build in the same process (tests, batch workers)
    would call a half-received photo fine, and a truncated cache entry would be
    trusted. The flag is process-wide, hence the lock.
    """
    with _STRICT:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


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


def _grey_thumb(img: Image.Image) -> Image.Image:
    _draft(img, "L", 512)
    if img.mode in ("RGB", "RGBA", "L", "CMYK") and max(img.size) > 1024:
        # PNGs have no draft mode: shrink before converting, so a 100 MP PNG is not
        # copied at full size twice more (RGB, then grey).
        img = img.reduce(max(img.size) // 1024)
    grey = _to_rgb(img).convert("L")
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


def probe(path: Path, tz: ZoneInfo) -> Probe:
    """Read size, capture time and quality of an image, without ever raising."""
    result = Probe()
    try:
        with _strict_decoding():
            img = _open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        result.problems.append(f"image larger than {MAX_PIXELS // 1_000_000} MP; not decoded "
                               "(possible decompression bomb)")
        return result
    except UnidentifiedImageError:
        result.problems.append("not a readable image (wrong extension, corrupt, or an "
                               "unsupported format such as HEIC)")
        return result
    except OSError as exc:
        result.problems.append(f"cannot open image ({exc})")
        return result
    except Exception as exc:  # noqa: BLE001 - e.g. a PNG chunk name that is not ASCII
        result.problems.append(f"not a readable image ({type(exc).__name__}: {exc})")
        return result
    with img:
        width, height = img.size
        info = ImageInfo(width=width, height=height, format=img.format)
        try:
            # Reading metadata decodes data too: a PNG's EXIF may follow its pixels,
            # a GIF's frames are counted by seeking through them. Pillow raises
            # OSError, struct.error, EOFError, IndexError... on damaged files.
            with _strict_decoding():
                orientation = (img.getexif().get(_ORIENTATION) if hasattr(img, "getexif")
                               else None)
                frames = getattr(img, "n_frames", 1)
            exif_time, exif_problem = _exif_time(img, tz)
        except Exception as exc:  # noqa: BLE001 - a damaged file is a note, not a crash
            result.problems.append(f"image data is damaged or truncated ({exc or type(exc).__name__})")
            return result
        if orientation is not None and orientation not in range(1, 9):
            result.problems.append(f"EXIF orientation {orientation} is invalid; shown as stored")
        if frames > 1:
            result.problems.append(f"animated image with {frames} frames; "
                                   "the first frame is shown")
        result.exif_time = exif_time
        if exif_problem:
            result.problems.append(exif_problem)
        try:
            with _strict_decoding():
                grey = _grey_thumb(img)
            info.sharpness = _sharpness(grey)
            info.brightness = round(ImageStat.Stat(grey).mean[0], 1)
            info.ahash = _ahash(grey)
        except Image.DecompressionBombError:  # pragma: no cover - caught at open
            result.problems.append("image too large to decode")
            return result
        except Exception as exc:  # noqa: BLE001 - as above: damaged data, never a crash
            result.problems.append(f"image data is damaged or truncated ({exc or type(exc).__name__})")
            return result
        result.info = info
    return result


def probe_cached(path: Path, sha256: str, tz: ZoneInfo, cache_dir: Path) -> Probe:
    """``probe``, remembered by content digest: agents run `check` again and again, and
    decoding every 12 MP original each time was most of its run time."""
    key = hashlib.sha256(f"probe|{PROBE_VERSION}|{sha256}|{tz.key}".encode()).hexdigest()[:32]
    entry = cache_dir / "probe" / f"{key}.json"
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        return Probe(info=ImageInfo(**data["info"]) if data["info"] else None,
                     exif_time=datetime.fromisoformat(data["exif_time"])
                     if data["exif_time"] else None,
                     problems=list(data["problems"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent or damaged: probe again and rewrite it
    result = probe(path, tz)
    data = {"info": result.info.model_dump() if result.info else None,
            "exif_time": result.exif_time.isoformat() if result.exif_time else None,
            "problems": result.problems}
    try:
        write_atomic(entry, json.dumps(data).encode("utf-8"))
    except OSError:
        pass  # a read-only cache only costs speed
    return result


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


def prepare(src: Path, sha256: str, *, screenshot: bool, recipe: Recipe,
            cache_dir: Path) -> Path:
    """Return a page-ready copy of ``src`` (orientation applied, reduced, re-encoded).

    Photos become JPEGs; screenshots stay lossless PNG so their text stays sharp.
    The copy is cached by the source's digest and the recipe.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / _cache_name(sha256, recipe, screenshot)
    if target.exists() and _is_valid_cached(target):
        return target
    limit = recipe.screenshot_max_px if screenshot else recipe.max_px
    with _open(src) as img:
        _draft(img, "RGB", limit)
        frame = ImageOps.exif_transpose(img) if _valid_orientation(img) else img.copy()
    frame = _to_rgb(frame)
    frame.thumbnail((limit, limit), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if screenshot:
        frame.save(buf, "PNG", optimize=False, compress_level=6)
    else:
        frame.save(buf, "JPEG", quality=recipe.quality, optimize=True, progressive=False)
    data = buf.getvalue()
    write_atomic(target, data)
    write_atomic(target.with_name(target.name + ".sha256"),
                 hashlib.sha256(data).hexdigest().encode("ascii"))
    return target


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
