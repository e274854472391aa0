"""Inputs that change while a command runs: what the pack shows is what its manifest names.

Each input is read once; the bytes that are hashed are the bytes decoded,
parsed, cached and stamped. A file rewritten in between is either shown as it
was when hashed, or refused naming the file, never shown as something else
under the first file's digest. docs/bad-input.md lists these cases.
"""

from __future__ import annotations

import hashlib
import json
import shutil

from click.testing import CliRunner
from PIL import ImageStat

from evidencepack.inputs import evidence
from evidencepack import pipeline
from evidencepack.cli import cli
from tests.conftest import GENERATED_AT, NOW, make_case, photo
from tests.test_hostile_images import pdf_images


def _mean(img) -> list[float]:
    return ImageStat.Stat(img.convert("RGB").resize((64, 48))).mean


def _close(a, b, tol=6.0) -> bool:
    return all(abs(x - y) < tol for x, y in zip(_mean(a), _mean(b)))


def test_photo_rewritten_between_hashing_and_decoding_is_drawn_as_hashed(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("EVIDENCEPACK_CACHE", str(tmp_path / "cache"))
    case = make_case(tmp_path / "cases", photos=1, listing=False)
    target = case / "preship" / "IMG_20240309_150200.jpg"
    original = target.read_bytes()
    other = photo(tmp_path / "other.jpg", when="2024:03:09 15:02:00", seed=7)
    with Image.open(target) as a, Image.open(other) as b:
        assert not _close(a, b)  # the two photos are told apart by their colours
        expected = a.copy()
    real = evidence.probe_cached

    def racing_probe(*args, **kwargs):
        # A sync tool or a second window replaces the photo right after it was hashed.
        shutil.copyfile(other, target)
        return real(*args, **kwargs)

    monkeypatch.setattr(evidence, "probe_cached", racing_probe)
    out = tmp_path / "pack.pdf"
    result = CliRunner().invoke(cli, ["build", str(case), "-o", str(out), "--now", NOW,
                                      "--generated-at", GENERATED_AT])
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".manifest.json").read_text(encoding="utf-8"))
    row = next(r for r in manifest["inputs"] if r["path"].endswith("150200.jpg"))
    assert row["sha256"] == hashlib.sha256(original).hexdigest()
    drawn = pdf_images(out)
    assert len(drawn) == 1 and _close(drawn[0], expected), "the pack drew another photo"

    # The next build (no race) names the new photo and draws it: nothing stale was cached.
    monkeypatch.setattr(evidence, "probe_cached", real)
    again = tmp_path / "again.pdf"
    assert CliRunner().invoke(cli, ["build", str(case), "-o", str(again), "--now", NOW]).exit_code == 0
    row = next(r for r in json.loads(again.with_suffix(".manifest.json").read_text())["inputs"]
               if r["path"].endswith("150200.jpg"))
    assert row["sha256"] == hashlib.sha256(other.read_bytes()).hexdigest()
    with Image.open(other) as b:
        assert _close(pdf_images(again)[0], b)


def test_chat_rewritten_after_hashing_is_refused_naming_the_file(tmp_path, monkeypatch):
    case = make_case(tmp_path / "cases", photos=0)
    real = pipeline.gather

    def racing_gather(*args, **kwargs):
        found = real(*args, **kwargs)
        (case / "chat" / "千牛聊天记录.txt").write_text(
            "2024-03-12 10:15:32 小王爱购物\n另一段话\n", encoding="utf-8")
        return found

    monkeypatch.setattr(pipeline, "gather", racing_gather)
    result = CliRunner().invoke(cli, ["check", str(case), "--now", NOW])
    assert result.exit_code == 2
    assert result.stderr.startswith("evidencepack: error: chat/千牛聊天记录.txt: the file changed "
                                    "while it was being read")
    assert len(result.stderr.splitlines()) == 1
