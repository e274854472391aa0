"""Hostile and broken evidence images: every one is listed with its problem, the
pack is still built, nothing crashes, the case folder is untouched.

The corpus is generated here (no binary blobs in the repository): bombs are
crafted PNG/JPEG headers, a few hundred bytes on disk. docs/bad-input.md lists
the outcome of each.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
import subprocess
import sys
import zlib
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageStat

from evidencepack.cli import cli
from evidencepack.inputs.images import probe
from tests.conftest import GENERATED_AT, NOW, REPO, make_case, pdf_text, tree_digest

TZ = ZoneInfo("Asia/Shanghai")


# --- generators ------------------------------------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bomb_header(w: int = 100_000, h: int = 100_000) -> bytes:
    """A PNG whose header claims w×h RGB pixels (30 GB decoded) over 1 KB of data."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + _chunk(b"IEND", b""))


@lru_cache(maxsize=None)
def png_compressible(w: int, h: int) -> bytes:
    """A complete, valid w×h 1-bit PNG of zeros, streamed through zlib: tiny on disk,
    w×h bytes (×3 or ×4 once converted) if anyone decodes it."""
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (w + 7) // 8)
    comp = zlib.compressobj(9)
    full, rest = divmod(h, 256)
    parts = [comp.compress(row * 256) for _ in range(full)]
    parts += [comp.compress(row * rest), comp.flush()]
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts))
            + _chunk(b"IEND", b""))


def _lines(img: Image.Image, fill, n: int = 60, seed: int = 1) -> Image.Image:
    rng = random.Random(seed)
    draw = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(n):
        draw.line([(rng.randrange(w), rng.randrange(h)), (rng.randrange(w), rng.randrange(h))],
                  fill=fill, width=3)
    return img


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg(size=(640, 480), **kw) -> bytes:
    return _save(_lines(Image.new("RGB", size, (40, 160, 90)), (250, 250, 250)), "JPEG",
                 quality=85, **kw)


def jpeg_bomb(w: int = 65_000, h: int = 65_000) -> bytes:
    """A real 64×64 JPEG whose frame header is patched to claim w×h (4.2 GP)."""
    data = bytearray(jpeg((64, 64)))
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", h, w)
            return bytes(data)
        i += 2 + length
    raise AssertionError("no SOF marker")  # pragma: no cover


def cmyk_jpeg() -> bytes:
    return _save(_lines(Image.new("CMYK", (800, 600), (0, 200, 200, 0)), (255, 0, 0, 0)),
                 "JPEG", quality=85)


def png16() -> bytes:
    img = Image.new("I;16", (800, 600))
    px = img.load()
    for y in range(0, 600, 2):
        for x in range(0, 800, 2):
            px[x, y] = (x * 80 + y * 30) % 65536
    return _save(img, "PNG")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (200, 200), (i * 50, 255 - i * 50, 0)) for i in range(5)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100,
                 loop=0)


def fake_heic() -> bytes:
    """An ISO-BMFF 'ftyp heic' box and nothing Pillow can decode without a plugin."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 200


def exif_jpeg(*, date: str | None = None, orientation: int | None = None) -> bytes:
    img = _lines(Image.new("RGB", (640, 480), (90, 120, 150)), (250, 250, 0))
    exif = Image.Exif()
    if date is not None:
        exif.get_ifd(0x8769)[36867] = date
    if orientation is not None:
        exif[274] = orientation
    return _save(img, "JPEG", quality=85, exif=exif)


def truncated_jpeg() -> bytes:
    data = jpeg((1200, 900))
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    """Pillow reads a PNG's EXIF after its pixels: getexif() decodes, and used to raise
    out of probe() (`check` ended with "internal error: OSError", exit 3)."""
    data = _save(_lines(Image.new("RGB", (400, 300), (1, 2, 3)), (250, 250, 250)), "PNG")
    return data[: len(data) // 2]


BOMB = "image larger than 120 MP; not decoded (possible decompression bomb)"
UNREADABLE = "not a readable image (wrong extension, corrupt, or an unsupported format such as HEIC)"

# name -> (bytes, a problem the exhibit must show or None, is it drawn in the pack)
CORPUS: dict[str, tuple] = {
    "zero.jpg": (lambda: b"", UNREADABLE, False),
    "truncated.jpg": (truncated_jpeg, "image data is damaged or truncated", False),
    "truncated.png": (truncated_png, "image data is damaged or truncated", False),
    "really-text.jpg": (lambda: b"this is a note, not a photo\n" * 20, UNREADABLE, False),
    "bomb-100000x100000.png": (png_bomb_header, BOMB, False),
    "bomb-65000x65000.jpg": (jpeg_bomb, BOMB, False),
    "huge-30000x30000.png": (lambda: png_compressible(30_000, 30_000), BOMB, False),
    # 121 MP: between MAX_IMAGE_PIXELS and twice it Pillow only warns; we refuse too.
    "huge-11000x11000.png": (lambda: png_compressible(11_000, 11_000), BOMB, False),
    "cmyk.jpg": (cmyk_jpeg, None, True),
    "deep-16bit.png": (png16, None, True),
    "animated.gif": (animated_gif, "animated image with 5 frames; the first frame is shown", True),
    "IMG_1234.heic": (fake_heic, UNREADABLE, False),
    "exif-garbage-date.jpg": (lambda: exif_jpeg(date="garbage!!"),
                              "EXIF date 'garbage!!' is not a date; not used", True),
    # A camera whose clock was never set; year 1 or 9999 was taken as the capture time.
    "exif-year-0001.jpg": (lambda: exif_jpeg(date="0001:01:01 00:00:00"),
                           "EXIF date '0001:01:01 00:00:00': year 1 is outside 1990-2100; not used",
                           True),
    "exif-year-9999.jpg": (lambda: exif_jpeg(date="9999:12:31 23:59:59"),
                           "EXIF date '9999:12:31 23:59:59': year 9999 is outside 1990-2100; "
                           "not used", True),
    "exif-orientation-9.jpg": (lambda: exif_jpeg(orientation=9),
                               "EXIF orientation 9 is invalid; shown as stored", True),
}


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    # A traceback would surface as a non-SystemExit exception.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


def pdf_images(path: Path) -> list[Image.Image]:
    """Every distinct image XObject in the PDF, decoded."""
    from pypdf import PdfReader

    seen, out = set(), []
    for page in PdfReader(path).pages:
        for image in page.images:
            key = (image.name, image.data[:64], len(image.data))
            if key not in seen:
                seen.add(key)
                out.append(image.image)
    return out


# --- probe: each file alone --------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CORPUS))
def test_probe_never_raises_and_names_the_problem(tmp_path, name):
    make, problem, drawn = CORPUS[name]
    path = tmp_path / name
    path.write_bytes(make())
    result = probe(path, TZ)
    if problem is None:
        assert result.problems == []
    else:
        assert any(problem in p for p in result.problems), result.problems
    assert (result.info is not None) == drawn


def test_bombs_are_refused_before_decoding_in_bounded_memory(tmp_path):
    """The 30000×30000 and 100000×100000 files are refused from their header: a
    subprocess probing all bombs stays far below what decoding one would take."""
    for name in ("bomb-100000x100000.png", "bomb-65000x65000.jpg", "huge-30000x30000.png",
                 "huge-11000x11000.png"):
        (tmp_path / name).write_bytes(CORPUS[name][0]())
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from zoneinfo import ZoneInfo\n"
        "from evidencepack.inputs.images import probe\n"
        "for p in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    assert probe(p, ZoneInfo('UTC')).info is None, p\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking
        # (large) pytest process.
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1]) / 1024
    # Decoding the 30000×30000 image alone would need 900 MB (2.7 GB as RGB).
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"


# --- the pack: all of them in one case ------------------------------------------------

@pytest.fixture(scope="module")
def corpus_pack(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-images")
    case = make_case(root / "cases", photos=1)
    for name, (make, _, _) in CORPUS.items():
        (case / "preship" / name).write_bytes(make())
    before = tree_digest(case)
    check = run("check", case, "--json", "--now", NOW)
    out = root / "out" / "pack.pdf"
    build = run("build", case, "-o", out, "--now", NOW, "--generated-at", GENERATED_AT,
                "--json")
    return case, before, check, build, out


def test_check_lists_every_problem_as_a_warning(corpus_pack):
    _, _, check, _, _ = corpus_pack
    assert check.exit_code in (0, 1), check.output
    data = json.loads(check.output)
    problems = {e["path"]: e["problems"] for e in data["evidence"]}
    for name, (_, problem, _) in CORPUS.items():
        path = f"preship/{name}"
        assert path in problems, f"{name} was dropped"
        if problem:
            assert any(problem in p for p in problems[path]), (name, problems[path])
            assert any(w.startswith(path + ": ") and problem in w for w in data["warnings"])
        else:
            assert problems[path] == []
    assert "file is empty (0 bytes)" in problems["preship/zero.jpg"]


def test_pack_is_built_with_each_problem_on_its_exhibit(corpus_pack):
    _, _, _, build, out = corpus_pack
    assert build.exit_code == 0, build.output
    text = "\n".join(pdf_text(out))
    # The arbitrator reads that an exhibit cannot be shown; the agent's worksheet
    # says what is wrong with it.
    sheet = out.with_suffix(".worksheet.html").read_text(encoding="utf-8")
    for name, (_, problem, _) in CORPUS.items():
        assert f"preship/{name}" in text, name
        if problem:
            assert f"preship/{name}" in sheet and str(escape(problem))[:60] in sheet, name
            assert problem[:60] not in text
    assert "此文件无法显示；原文件及其校验值见附录" in text
    result = json.loads(build.output)
    assert any("bomb-100000x100000.png" in w for w in result["warnings"])


def test_drawable_images_are_drawn(corpus_pack):
    """CMYK, 16-bit, animated and EXIF-damaged images are in the PDF as images:
    one image per drawable exhibit, plus the listing screenshot and the good photo."""
    _, _, _, _, out = corpus_pack
    drawable = sum(1 for _, _, drawn in CORPUS.values() if drawn)
    assert len(pdf_images(out)) == drawable + 2


def test_case_folder_is_untouched(corpus_pack):
    case, before, _, _, _ = corpus_pack
    assert tree_digest(case) == before


def test_cmyk_and_16_bit_render_with_their_content(tmp_path):
    """Not just 'no crash': the page shows the picture, with its lines, in RGB."""
    case = make_case(tmp_path / "cases", photos=0, listing=False)
    (case / "preship" / "cmyk.jpg").write_bytes(cmyk_jpeg())
    (case / "preship" / "deep-16bit.png").write_bytes(png16())
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    images = pdf_images(out)
    assert sorted(i.size for i in images) == [(800, 600), (800, 600)]
    for image in images:
        assert image.mode in ("RGB", "L")
        stat = ImageStat.Stat(image.convert("L"))
        assert stat.stddev[0] > 10, "image drawn blank"
    assert "问题" not in "\n".join(pdf_text(out)).split("附录")[0].split("发货前照片")[-1]


def test_truncation_is_seen_even_after_weasyprint_is_imported(tmp_path, monkeypatch):
    """Importing WeasyPrint sets ImageFile.LOAD_TRUNCATED_IMAGES for the whole process;
    a half-received photo must still be reported, in any process that has built before."""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    # What importing WeasyPrint does (here it may have happened long ago, and a
    # probe since may have turned the flag off again).
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    path = tmp_path / "truncated.jpg"
    path.write_bytes(truncated_jpeg())
    assert any("image data is damaged or truncated" in p for p in probe(path, TZ).problems)
    # and it stays seen: no grey-padded copy is prepared either
    from evidencepack.inputs.images import Recipe, prepare

    with pytest.raises(OSError):
        prepare(path, hashlib.sha256(path.read_bytes()).hexdigest(), screenshot=False,
                recipe=Recipe(), cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.jpg"))
