#!/usr/bin/env python3
"""evidencepack benchmark (issues 7 and 16): deterministic synthetic cases, two naive
baselines and a floor measured alternately with ours, every target's verdict.

    python benchmarks/run.py              # everything: 5 rounds (3 for batch and team)
    python benchmarks/run.py --quick      # a smoke run: 1 round, 1,000 team cases
    python benchmarks/run.py --only large,profile --runs 3

Run it with the interpreter that has evidencepack installed (the project's venv).

Groups, each measured in rounds that run every scenario once (so a change in the
shared machine's load falls on all alike; ratios are of medians from one run):

* large (40 × 12 MP photos, 2,000 messages, 40 events, a 10-page report) and typical
  (8 photos, 150 messages): ``evidencepack build`` cold (a fresh, empty
  EVIDENCEPACK_CACHE each run) against ``naive.py``, the simplest script a seller
  could write (one WeasyPrint document, photos shrunk to fit upload limits), in the
  machine's default Chinese font, and ``floor.py`` (imports, every photo decoded once
  at the pack's scale on all cores, the text laid out); for the large case also the
  same script with the original photos (for reference: its PDF fits no platform),
  a warm rebuild and ``check``;
* batch: 50 typical cases, ``-j 1`` against ``-j 2``;
* team: ``queue`` / ``audit --json`` over 10,000 small case folders (team.py), warm
  (the case index filled by an untimed run), and a cold ``queue`` ``-j 1`` against ``-j 2``.

Cases are generated from fixed seeds and cached under ``benchmarks/.cases/v<GEN_VERSION>``
(12 MP JPEGs take about a second each to make); bump GEN_VERSION when the generator
changes. Every measured run is a separate subprocess; wall time, peak RSS and CPU time
come from ``os.wait4`` and a /proc sample of its process tree. The 1-minute load
average is recorded beside every run. Sizes are MB = 10^6 bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GEN_VERSION = 1
CASES = HERE / ".cases" / f"v{GEN_VERSION}"
RESULTS = HERE / "results"

NOW = "2024-03-13T09:00:00+08:00"
GENERATED_AT = "2024-03-13T09:30:00+08:00"
PHOTO_SIZE = (4000, 3000)  # 12 MP
BATCH_CASES = 50

TYPICAL = {"photos": 8, "messages": 150, "events": 15, "report_pages": 0}
LARGE = {"photos": 40, "messages": 2000, "events": 40, "report_pages": 10}

TEAM_CASES = 10_000  # a team's worth of small case folders for queue / audit

# Issue 16's targets for a 2-core machine; every ratio is taken within one run.
TARGETS = {
    "large_vs_naive": 2.5,  # uploadable naive script's wall time / ours (cold), at least
    "large_size_vs_naive": 0.5,  # our PDF / the naive script's, at most
    "large_memory_mb": 300.0,  # peak memory of a cold large build, at most
    "large_vs_floor": 1.5,  # ours (cold) / the floor, at most
    "typical_vs_naive": 2.0,  # at least
    "warm_vs_cold": 0.75,  # at most
    "check_large_wall_s": 1.0,  # at most
    "batch_j1_over_j2": 1.6,  # at least
    "team_warm_wall_s": 10.0,  # queue / audit --json over TEAM_CASES, nothing changed, at most
    "team_j1_over_j2": 1.6,  # cold queue -j 1 / -j 2, at least
}

# =====================================================================================
# Deterministic synthetic cases
# =====================================================================================

CASE_TOML = """\
case_id = "{case_id}"
platform = "taobao"
dispute_type = "not_as_described"
order_id = "{order_id}"
ordered_at = 2024-03-08T21:40:00+08:00
opened_at = 2024-03-12T10:15:00+08:00
timezone = "Asia/Shanghai"
currency = "CNY"
amount = "399.00"
statement = \"\"\"商品发货前已在自然光下逐件拍照核对颜色与做工，与详情页描述一致；物流显示买家本人签收。\
买家反馈色差后我方当日提出退货退款或补偿方案，请平台按退货退款处理。\"\"\"

[buyer]
nick = "{buyer}"

[seller]
shop = "杭州好物旗舰店"
nicks = ["杭州好物旗舰店:小美", "杭州好物旗舰店:售后阿杰"]

[item]
title = "雾霾蓝V领针织开衫女2024春季新款宽松羊毛混纺毛衣外套"
sku = "雾霾蓝 M"

[tracking]
carrier = "yuantong"
number = "{tracking_no}"
"""

BUYER_LINES = [
    "你好，我昨天收到货了", "收到的衣服颜色和图片不一样，色差太大了", "这个颜色明显偏灰",
    "详情页上看是蓝色的，实物像灰色", "我要退货退款", "能不能给个说法", "包装袋有点破",
    "尺码是标准的吗", "我平时穿M码", "领口这里有线头", "已经拍了照片发给你们了",
    "自然光下也是这个颜色", "你们发货前检查过吗", "运费谁出", "我不想要补偿，想退款",
    "好的，我再考虑一下", "什么时候能处理好", "为什么和别人的买家秀不一样", "我买的是雾霾蓝",
    "麻烦快点处理，谢谢", "这件衣服起球吗", "洗了会不会缩水", "我下单的时候没看到色差说明",
    "你们的客服回复太慢了", "那我先申请仅退款了",
]
SELLER_LINES = [
    "亲，您好，欢迎光临杭州好物旗舰店", "麻烦您在自然光下拍一下照片哦", "亲，我们发货前都有实拍核对颜色的",
    "颜色以实物为准，不同显示器会有一定色差哦", "亲，可以给您补偿10元作为歉意", "您也可以选择退货退款，运费险承担运费",
    "我们这边查了一下，您的订单是雾霾蓝M码", "发货前的照片我们都有留存", "亲，稍等，我帮您查一下物流",
    "物流显示已经本人签收了哦", "亲，这款是羊毛混纺的，颜色会比图片略深一点", "给您带来不便非常抱歉",
    "您看这样处理可以吗", "我们会尽快给您处理的", "亲，详情页有注明色差说明的哦", "第三方检测报告显示色差合格",
    "您可以先申请退货，我们收到后马上退款", "亲，还在吗", "好的亲，有问题随时联系我们", "已为您登记售后",
]
CITIES = ["广州市", "佛山市", "韶关市", "长沙市", "武汉市", "南昌市", "金华市", "杭州市", "嘉兴市", "湖州市"]


def chat_text(n: int, seed: int, buyer: str) -> str:
    """A 千牛 workbench text export with ``n`` messages, oldest first."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 8, 22, 0, 0)
    span = (datetime(2024, 3, 13, 8, 0, 0) - start).total_seconds()
    step = span / max(n, 1)
    sellers = ["杭州好物旗舰店:小美", "杭州好物旗舰店:售后阿杰"]
    lines = []
    for i in range(n):
        at = start + timedelta(seconds=int(i * step + rng.random() * step * 0.8))
        is_buyer = rng.random() < 0.5
        pool = BUYER_LINES if is_buyer else SELLER_LINES
        parts = [rng.choice(pool) for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 4))]
        sender = buyer if is_buyer else rng.choice(sellers)
        lines.append(f"{at:%Y-%m-%d %H:%M:%S} {sender}")
        lines.append("，".join(parts))
    return "\n".join(lines) + "\n"


def kuaidi100(n: int, seed: int, number: str) -> dict:
    """A Kuaidi100 query reply with ``n`` events (newest first, as the API returns it)."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 9, 18, 20, 11)
    end = datetime(2024, 3, 11, 18, 20, 11)
    step = (end - start) / max(n - 1, 1)
    events = []
    for i in range(n):
        at = start + step * i
        if i == 0:
            ctx, loc = "【广州市】圆通速递 已揽收，揽收员：李师傅", "广州市"
        elif i == n - 1:
            ctx, loc = "【杭州市】您的快件已签收，签收人：本人签收。如有疑问请联系快递员", "杭州市"
        elif i == n - 2:
            ctx, loc = "【杭州市】快递员 王师傅 正在派件，电话 138****5678", "杭州市"
        else:
            a, b = CITIES[i * len(CITIES) // n], CITIES[min(len(CITIES) - 1, (i + 1) * len(CITIES) // n)]
            if rng.random() < 0.5:
                ctx, loc = f"【{a}】快件已到达【{a}转运中心】", a
            else:
                ctx, loc = f"【{a}】快件已从【{a}转运中心】发出，下一站【{b}】", a
        t = f"{at:%Y-%m-%d %H:%M:%S}"
        events.append({"time": t, "ftime": t, "context": ctx, "location": loc})
    events.reverse()
    return {"message": "ok", "nu": number, "ischeck": "1", "com": "yuantong", "status": "200",
            "state": "3", "data": events}


def make_photo(job: tuple[str, int, str]) -> str:
    """A 12 MP JPEG with photo-like detail (colour field, texture, grain, lines) and EXIF."""
    from PIL import Image, ImageChops, ImageDraw

    path, seed, when = job
    rng = random.Random(seed)
    w, h = PHOTO_SIZE
    field_ = Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3))
    field_ = field_.point(lambda v: 60 + v * 140 // 255).resize(PHOTO_SIZE, Image.Resampling.BICUBIC)
    tex = Image.frombytes("L", (w // 8, h // 8), rng.randbytes((w // 8) * (h // 8)))
    tex = tex.resize(PHOTO_SIZE, Image.Resampling.BILINEAR)
    img = Image.blend(ImageChops.overlay(field_, Image.merge("RGB", (tex,) * 3)), field_, 0.55)
    draw = ImageDraw.Draw(img)
    for _ in range(90):
        draw.line([(rng.randint(0, w), rng.randint(0, h)), (rng.randint(0, w), rng.randint(0, h))],
                  fill=tuple(rng.randint(20, 235) for _ in range(3)), width=rng.randint(2, 12))
    for _ in range(20):
        x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(50, 500)
        draw.ellipse((x - r, y - r, x + r, y + r), outline=tuple(rng.randint(20, 235) for _ in range(3)),
                     width=rng.randint(3, 20))
    grain = Image.frombytes("L", PHOTO_SIZE, rng.randbytes(w * h)).point(lambda v: 128 + (v - 128) // 12)
    img = ImageChops.add(img, Image.merge("RGB", (grain,) * 3), 1, -128)
    exif = Image.Exif()
    exif[0x010F] = "BenchPhone"
    exif.get_ifd(0x8769)[36867] = when
    exif.get_ifd(0x8769)[36881] = "+08:00"
    img.save(path, "JPEG", quality=90, exif=exif)
    return path


def _cjk_font():
    for path, index in (("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
                        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)):
        if Path(path).is_file():
            return path, index
    return None, 0


def make_report(path: Path, pages: int, seed: int) -> None:
    """A ``pages``-page A4 inspection report, drawn with Pillow and saved as a PDF."""
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    font_path, index = _cjk_font()

    def font(size):
        return ImageFont.truetype(font_path, size, index=index) if font_path else \
            ImageFont.load_default(size=size)

    W, H = 1240, 1754  # A4 at 150 dpi
    out = []
    for p in range(pages):
        page = Image.new("RGB", (W, H), "white")
        d = ImageDraw.Draw(page)
        d.rectangle((90, 90, 260, 150), fill=(30, 80, 150))
        d.text((100, 100), "GZT 检测", font=font(36), fill="white")
        d.text((300, 100), "第三方检验检测报告 GZT-2024-FZ-02618", font=font(40), fill="black")
        d.line((90, 180, W - 90, 180), fill="black", width=3)
        y = 220
        for r in range(24):
            d.rectangle((90, y, W - 90, y + 52), outline=(120, 120, 120), width=1)
            d.line((420, y, 420, y + 52), fill=(120, 120, 120))
            d.text((105, y + 12), f"检测项目 {p * 24 + r + 1}", font=font(24), fill="black")
            d.text((440, y + 12), f"色牢度 {rng.randint(3, 5)} 级，批间色差 ΔE={rng.uniform(0.3, 1.9):.2f}，"
                   f"判定：合格", font=font(24), fill="black")
            y += 52
        d.text((90, H - 120), f"第 {p + 1} 页 / 共 {pages} 页", font=font(22), fill=(80, 80, 80))
        out.append(page)
    out[0].save(path, "PDF", save_all=True, append_images=out[1:], resolution=150)


def _write_case(root: Path, case_id: str, spec: dict, seed: int, photo_jobs: list) -> None:
    for folder in ("chat", "listing", "preship", "tracking", "returns", "reports", "other"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    number = f"YT7{seed % 10**10:010d}"
    buyer = "小王爱购物"
    (root / "case.toml").write_text(CASE_TOML.format(
        case_id=case_id, order_id=f"38172645{seed % 10**11:011d}", buyer=buyer,
        tracking_no=number), encoding="utf-8")
    (root / "chat" / "千牛聊天记录.txt").write_text(
        chat_text(spec["messages"], seed, buyer), encoding="utf-8")
    (root / "tracking" / "kuaidi100.json").write_text(
        json.dumps(kuaidi100(spec["events"], seed, number), ensure_ascii=False), encoding="utf-8")
    if spec["report_pages"]:
        make_report(root / "reports" / "质检报告.pdf", spec["report_pages"], seed)
    base = datetime(2024, 3, 9, 15, 2, 0)
    for i in range(spec["photos"]):
        at = base + timedelta(seconds=37 * i)
        photo_jobs.append((str(root / "preship" / f"IMG_{at:%Y%m%d_%H%M%S}.jpg"),
                           seed * 1000 + i, f"{at:%Y:%m:%d %H:%M:%S}"))


def ensure_cases(need_batch: bool) -> dict[str, Path]:
    """Generate (once) and return the case folders; a folder is reused only when complete."""
    wanted = {"typical": ("BENCH-TYPICAL", TYPICAL, 1), "large": ("BENCH-LARGE", LARGE, 2)}
    if need_batch:
        for k in range(BATCH_CASES):
            wanted[f"batch/BENCH-B{k:02d}"] = (f"BENCH-B{k:02d}", TYPICAL, 100 + k)
    paths, jobs, todo = {}, [], []
    for key, (case_id, spec, seed) in wanted.items():
        root = CASES / key
        paths[key] = root
        if (root / ".complete").exists():
            continue
        if root.exists():
            shutil.rmtree(root)
        _write_case(root, case_id, spec, seed, jobs)
        todo.append(root)
    if jobs:
        print(f"generating {len(todo)} case(s), {len(jobs)} photos of 12 MP "
              f"(cached in {CASES}) ...", flush=True)
        t = time.perf_counter()
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
            for done, _ in enumerate(pool.imap_unordered(make_photo, jobs, chunksize=2), 1):
                if done % 50 == 0:
                    print(f"  {done}/{len(jobs)} photos", flush=True)
        print(f"  generated in {time.perf_counter() - t:.0f} s", flush=True)
    for root in todo:
        (root / ".complete").write_text(f"generator v{GEN_VERSION}\n")
    return paths


# =====================================================================================
# Measuring a subprocess
# =====================================================================================

def snapshot_code(work: Path) -> dict:
    """Copy evidencepack/ and templates/ as they are now, and run every measurement on the copy.

    Other people edit the working tree while a 30-minute benchmark runs; one half-saved
    file must not break it or mix two versions of the code into one result.
    """
    code = work / "code"
    for name in ("evidencepack", "templates"):
        shutil.copytree(REPO / name, code / name, ignore=shutil.ignore_patterns("__pycache__"))
    os.environ["PYTHONPATH"] = str(code) + (os.pathsep + os.environ["PYTHONPATH"]
                                            if os.environ.get("PYTHONPATH") else "")
    sys.path.insert(0, str(code))  # the in-process profile uses the same copy

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except OSError:
            return None

    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--", "evidencepack", "templates")),
            "copied_to": str(code)}


class TreeSampler:
    """Samples the RSS and CPU time of a process and all its descendants from /proc.

    wait4 only counts descendants the child itself reaped; `batch` runs its workers under
    a forkserver, which the batch process never reaps, so they would be invisible.
    """

    def __init__(self, pid: int, interval: float = 0.1):
        import threading

        self.pid, self.interval = pid, interval
        self.peak_sum_kb = self.peak_one_kb = self.peak_pss_kb = 0
        self.cpu_ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                ppid = int(stat[stat.rindex(")") + 2:].split()[1])
                children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            total = pss = 0
            for pid in self._tree():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    stat = Path(f"/proc/{pid}/stat").read_text()
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                except OSError:
                    continue
                # RSS counts pages a forked layout process shares with its parent
                # twice; PSS splits them, so the tree's PSS is what it really holds.
                pss += next((int(line.split()[1]) for line in rollup.splitlines()
                             if line.startswith("Pss:")), 0)
                rss = next((int(line.split()[1]) for line in status.splitlines()
                            if line.startswith("VmRSS:")), 0)
                total += rss
                self.peak_one_kb = max(self.peak_one_kb, rss)
                fields = stat[stat.rindex(")") + 2:].split()
                self.cpu_ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
            self.peak_sum_kb = max(self.peak_sum_kb, total)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"tree_rss_sum_mb": self.peak_sum_kb * 1024 / 1e6,
                "tree_rss_max_one_mb": self.peak_one_kb * 1024 / 1e6,
                "tree_pss_sum_mb": self.peak_pss_kb * 1024 / 1e6,
                "tree_cpu_s": sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")}


def run_measured(cmd: list[str], env: dict, log: Path) -> dict:
    """Run ``cmd``; wall time, peak RSS and CPU from wait4 on that process, plus a /proc
    sample of its whole process tree (for worker processes wait4 cannot see)."""
    load = os.getloadavg()[0]  # other work on the machine inflates wall time, not CPU time
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        sampler = TreeSampler(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        tree = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "rss_mb": usage.ru_maxrss * 1024 / 1e6,
            "cpu_s": usage.ru_utime + usage.ru_stime, "rc": proc.returncode, "load_1min": load,
            **tree}


def ep(*args: str) -> list[str]:
    return [sys.executable, "-m", "evidencepack", *args]


def summarise(name: str, runs: list[dict], **extra) -> dict:
    def med(key):
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    return {"name": name, "runs": len(runs), "wall_s": med("wall_s"),
            "wall_min_s": min(r["wall_s"] for r in runs), "wall_max_s": max(r["wall_s"] for r in runs),
            "rss_mb": med("rss_mb"), "cpu_s": med("cpu_s"), "pdf_bytes": med("pdf_bytes"),
            "load_1min": med("load_1min"), "tree_rss_sum_mb": med("tree_rss_sum_mb"),
            "tree_rss_max_one_mb": med("tree_rss_max_one_mb"), "tree_cpu_s": med("tree_cpu_s"),
            "tree_pss_sum_mb": med("tree_pss_sum_mb"),
            **{k: med(k) for k in ("imports_s", "decode_s", "layout_s") if runs and k in runs[0]},
            "raw": runs, **extra}


class Bench:
    """Scenarios measured alternately: each round runs every scenario of a group once,
    so a change in the machine's load falls on all of them alike."""

    def __init__(self, work: Path):
        self.work = work
        self.n = 0
        self.last_large_pdf: Path | None = None

    def fresh(self, prefix: str) -> Path:
        self.n += 1
        path = self.work / f"{prefix}-{self.n}"
        path.mkdir(parents=True)
        return path

    def env(self, cache: Path) -> dict:
        return {**os.environ, "EVIDENCEPACK_CACHE": str(cache), "PYTHONHASHSEED": "0"}

    def _once(self, key: str, label: str, cmd_for, cache: Path) -> dict:
        out_dir = self.fresh("out")
        out = out_dir / "pack.pdf"
        r = run_measured(cmd_for(out, out_dir), self.env(cache), out_dir / "log.txt")
        if r["rc"] not in (0, 1):  # check exits 1 for an incomplete case
            raise SystemExit(f"{label}: exit {r['rc']}:\n" + (out_dir / "log.txt").read_text()[-3000:])
        pdfs = [out] if out.exists() else sorted((out_dir / "packs").glob("*.pdf"))
        r["pdf_bytes"] = sum(p.stat().st_size for p in pdfs) if pdfs else None
        if key.endswith("floor"):
            r.update(json.loads((out_dir / "log.txt").read_text().strip().splitlines()[-1]))
        if key == "large-cold" and pdfs:
            if self.last_large_pdf is not None:
                shutil.rmtree(self.last_large_pdf.parent, ignore_errors=True)
            self.last_large_pdf = pdfs[0]  # for the font list; the work folder goes at the end
        else:
            shutil.rmtree(out_dir)
        return r

    def alternate(self, group: dict[str, tuple], runs: int) -> dict[str, dict]:
        """``group``: key -> (label, cmd_for(out, out_dir), cache) with cache "cold" (a
        fresh, empty cache each run) or a name (one cache per name, filled by the first
        scenario using it in an untimed run)."""
        caches: dict[str, Path] = {}
        for key, (label, cmd_for, cache) in group.items():
            if cache != "cold" and cache not in caches:
                caches[cache] = self.fresh("cache")
                self._once(key + "-fill", label + " (fill)", cmd_for, caches[cache])
        results: dict[str, list] = {key: [] for key in group}
        for i in range(runs):
            for key, (label, cmd_for, cache) in group.items():
                c = caches[cache] if cache != "cold" else self.fresh("cache")
                r = self._once(key, label, cmd_for, c)
                results[key].append(r)
                print(f"  {label:<40} run {i + 1}/{runs}: {r['wall_s']:6.2f} s  "
                      f"{r['rss_mb']:5.0f} MB  CPU {max(r['cpu_s'], r['tree_cpu_s']):6.2f} s  "
                      f"load {r['load_1min']:.1f}"
                      + (f"  {r['pdf_bytes'] / 1e6:6.2f} MB PDF" if r["pdf_bytes"] else ""),
                      flush=True)
                if cache == "cold":
                    shutil.rmtree(c)
        return {key: summarise(group[key][0], results[key]) for key in group}


BATCH_EXPORT = CASES / "batch-export.csv"  # beside, not inside, the batch cases root


def write_batch_export() -> Path:
    """A Taobao-style refund export (see `evidencepack batch --help`) naming the 50 cases."""
    lines = ["退款编号,订单编号,申请时间,退款原因,退款金额,退款状态,买家会员名"]
    for k in range(BATCH_CASES):
        seed = 100 + k
        lines.append(f"BENCH-B{k:02d},38172645{seed % 10**11:011d},2024-03-12 10:15:00,"
                     f"颜色/尺寸/参数描述不符,399.00,退款待处理,小王爱购物")
    BATCH_EXPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return BATCH_EXPORT


def ensure_team(n: int) -> Path:
    """``n`` small case folders (benchmarks/team.py), generated once."""
    import team

    root = CASES / f"team-{n}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"generating {n:,} small case folders ...", flush=True)
        cases = root / "cases"
        team.make_team(cases, n, CASE_TOML, chat_text, kuaidi100)
        (root / ".complete").write_text(f"generator v{GEN_VERSION}\n")
    return root / "cases"


# =====================================================================================
# Machine info, table, targets
# =====================================================================================

def machine_info(pdf: Path | None) -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "load_1_5_15": machine_load(),
            "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0))}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gb"] = round(int(line.split()[1]) * 1024 / 1e9, 1)
    except OSError:
        pass
    from importlib.metadata import version

    for pkg in ("evidencepack", "weasyprint", "pillow", "pydyf", "pypdf", "fonttools", "jinja2"):
        try:
            info[pkg] = version(pkg)
        except Exception:  # noqa: BLE001
            info[pkg] = None
    import naive

    try:
        info["naive_script_font"] = naive.default_cjk_font()
    except (OSError, SystemExit):
        info["naive_script_font"] = None
    if pdf is not None and pdf.exists():
        info["fonts_embedded_in_large_pdf"] = pdf_fonts(pdf)
    return info


def pdf_fonts(path: Path) -> list[str]:
    from pypdf import PdfReader

    names = set()
    for page in PdfReader(path).pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            names.add(str(font.get_object().get("/BaseFont")))
    return sorted(names)




# =====================================================================================
# Profile (a separate process: py-spy sees every thread and the layout child)
# =====================================================================================

def profile_large(bench: Bench, case_dir: Path, top: int = 25) -> str:
    """Sample one cold large build with py-spy (all threads, child processes) and
    sum the samples by function: own time and time on the stack. Without py-spy,
    cProfile of the main thread only."""
    out_dir, cache = bench.fresh("profile"), bench.fresh("cache")
    build = ep("build", str(case_dir), "-o", str(out_dir / "pack.pdf"), "--now", NOW,
               "--generated-at", GENERATED_AT)
    spy = shutil.which("py-spy") or (str(Path(sys.executable).parent / "py-spy")
                                     if (Path(sys.executable).parent / "py-spy").exists() else None)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if spy is None:
        stats_file = RESULTS / "profile-large.pstats"
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats_file), *build[1:]],
                       env=bench.env(cache), cwd=REPO, capture_output=True, check=True)
        import io
        import pstats

        text = io.StringIO()
        pstats.Stats(str(stats_file), stream=text).sort_stats("cumulative").print_stats(top)
        report = "cProfile, main thread only (pip install py-spy for threads and children):\n" \
            + text.getvalue()
    else:
        raw = out_dir / "stacks.txt"
        subprocess.run([spy, "record", "--subprocesses", "--rate", "250", "--format", "raw",
                        "--output", str(raw), "--", *build], env=bench.env(cache), cwd=REPO,
                       capture_output=True, check=True)
        own: dict[str, int] = {}
        on_stack: dict[str, int] = {}
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = [f for f in stack.split(";") if not f.startswith("process ")]
            n = int(count)
            total += n
            if frames:
                own[frames[-1]] = own.get(frames[-1], 0) + n
            for frame in set(frames):
                on_stack[frame] = on_stack.get(frame, 0) + n
        lines = [f"py-spy, {total} samples at 250 Hz over every thread and process of one cold "
                 "large build (a sample = 4 ms of one thread, running or waiting):",
                 "", f"{'own %':>7}  function (file:line)"]
        lines += [f"{100 * n / total:6.1f}%  {f}" for f, n in
                  sorted(own.items(), key=lambda kv: -kv[1])[:top]]
        lines += ["", f"{'stack %':>7}  function (file:line)"]
        lines += [f"{100 * n / total:6.1f}%  {f}" for f, n in
                  sorted(on_stack.items(), key=lambda kv: -kv[1])[:top]]
        report = "\n".join(lines)
        shutil.copy(raw, RESULTS / "profile-large-stacks.txt")
    (RESULTS / "profile-large.txt").write_text(report + "\n")
    return report


# =====================================================================================
# Machine info, table, targets
# =====================================================================================

def _fmt(v, unit="", digits=2):
    return "—" if v is None else f"{v:.{digits}f}{unit}"


def print_table(by: dict[str, dict]) -> str:
    lines = [f"{'scenario':<42}{'runs':>5}{'median s':>10}{'min–max s':>14}{'CPU s':>8}"
             f"{'peak MB':>9}{'PDF MB':>9}{'load':>6}"]
    lines.append("-" * len(lines[0]))
    for r in by.values():
        memory = max(r["rss_mb"] or 0, r.get("tree_pss_sum_mb") or 0)
        lines.append(
            f"{r['name']:<42}{r['runs']:>5}{_fmt(r['wall_s']):>10}"
            f"{_fmt(r['wall_min_s']) + '–' + _fmt(r['wall_max_s']):>14}"
            f"{_fmt(max(r['cpu_s'] or 0, r.get('tree_cpu_s') or 0), '', 1):>8}"
            f"{_fmt(memory, '', 0):>9}"
            f"{_fmt(r['pdf_bytes'] / 1e6 if r.get('pdf_bytes') else None):>9}"
            f"{_fmt(r.get('load_1min'), '', 1):>6}")
    for key, size in (("floor", "large"), ("typical-floor", "typical")):
        floor = by.get(key)
        if floor and floor.get("imports_s") is not None:
            lines.append(f"  {size} floor's parts (medians): imports {floor['imports_s']:.2f} s, "
                         f"photos decoded on all cores {floor['decode_s']:.2f} s, text laid out "
                         f"and written {floor['layout_s']:.2f} s")
    text = "\n".join(lines)
    print(text)
    return text


def evaluate_targets(by: dict[str, dict], team_cases: int) -> list[dict]:
    out = []
    T = TARGETS

    def add(name, value, ok, shown, note=""):
        out.append({"target": name, "value": value, "met": None if value is None else bool(ok),
                    "shown": shown + (f" ({note})" if note else "")})

    def ratio(a, b):
        return by[a]["wall_s"] / by[b]["wall_s"] if a in by and b in by else None

    def cpu(key):
        return max(by[key]["cpu_s"] or 0, by[key].get("tree_cpu_s") or 0)

    def cpu_ratio(a, b):
        """The same ratio in CPU seconds (all processes): what other work on a shared
        machine moves least. Shown beside the wall-time verdict, never instead of it."""
        return f"; CPU {cpu(a):.1f} s vs {cpu(b):.1f} s = {cpu(a) / cpu(b):.2f}×"

    def asks(naive_key, times, floor_key):
        """What a speed target asks for, set beside the floor of the same case: a
        target under the floor cannot be met by any pack."""
        if floor_key not in by:
            return ""
        wanted, floor_s = by[naive_key]["wall_s"] / times, by[floor_key]["wall_s"]
        return f"it asks for ≤ {wanted:.2f} s; the floor takes {floor_s:.2f} s"

    cold, naive = by.get("large-cold"), by.get("large-naive")
    speed = ratio("large-naive", "large-cold")
    if speed is not None:
        add(f"large: ≥ {T['large_vs_naive']}× faster than the uploadable naive script", speed,
            speed >= T["large_vs_naive"], f"{speed:.2f}× ({naive['wall_s']:.2f} s vs "
            f"{cold['wall_s']:.2f} s{cpu_ratio('large-naive', 'large-cold')})",
            asks("large-naive", T["large_vs_naive"], "floor"))
        size = cold["pdf_bytes"] / naive["pdf_bytes"]
        add(f"large: PDF ≤ {T['large_size_vs_naive']} of the naive script's", size,
            size <= T["large_size_vs_naive"], f"{size:.2f} ({cold['pdf_bytes'] / 1e6:.1f} MB vs "
            f"{naive['pdf_bytes'] / 1e6:.1f} MB)")
    if cold:
        # The build and its forked layout process together: their PSS counts shared
        # pages once (or the main process's RSS, if that is larger).
        memory = max(cold["rss_mb"], cold.get("tree_pss_sum_mb") or 0)
        add(f"large: peak memory ≤ {T['large_memory_mb']:.0f} MB", memory,
            memory <= T["large_memory_mb"], f"{memory:.0f} MB")
    floor = ratio("large-cold", "floor")
    if floor is not None:
        add(f"large: within {T['large_vs_floor']}× of the floor", floor,
            floor <= T["large_vs_floor"], f"{floor:.2f}× ({cold['wall_s']:.2f} s vs "
            f"{by['floor']['wall_s']:.2f} s{cpu_ratio('large-cold', 'floor')})")
    typical = ratio("typical-naive", "typical-cold")
    if typical is not None:
        add(f"typical: ≥ {T['typical_vs_naive']}× faster than the uploadable naive script",
            typical, typical >= T["typical_vs_naive"], f"{typical:.2f}× "
            f"({by['typical-naive']['wall_s']:.2f} s vs {by['typical-cold']['wall_s']:.2f} s"
            f"{cpu_ratio('typical-naive', 'typical-cold')})",
            asks("typical-naive", T["typical_vs_naive"], "typical-floor"))
    warm = ratio("large-warm", "large-cold")
    if warm is not None:
        add(f"warm rebuild ≤ {T['warm_vs_cold']:.0%} of cold", warm, warm <= T["warm_vs_cold"],
            f"{warm:.0%} ({by['large-warm']['wall_s']:.2f} s vs {cold['wall_s']:.2f} s"
            f"{cpu_ratio('large-warm', 'large-cold')})")
    if "large-check" in by:
        v = by["large-check"]["wall_s"]
        add(f"check on the large case ≤ {T['check_large_wall_s']} s", v,
            v <= T["check_large_wall_s"], f"{v:.2f} s")
    batch = ratio("batch-j1", "batch-j2")
    if batch is not None:
        add(f"batch -j 2 ≥ {T['batch_j1_over_j2']}× faster than -j 1", batch,
            batch >= T["batch_j1_over_j2"], f"{batch:.2f}× ({by['batch-j1']['wall_s']:.1f} s vs "
            f"{by['batch-j2']['wall_s']:.1f} s; load {by['batch-j1']['load_1min']:.1f} / "
            f"{by['batch-j2']['load_1min']:.1f})")
    short = "" if team_cases >= TEAM_CASES else f"measured on {team_cases:,} cases, not {TEAM_CASES:,}"
    for key, command in (("queue-warm", "queue"), ("audit-warm", "audit")):
        if key in by:
            v = by[key]["wall_s"]
            add(f"{command} --json over {TEAM_CASES:,} unchanged cases ≤ "
                f"{T['team_warm_wall_s']:.0f} s", None if short else v,
                v <= T["team_warm_wall_s"], f"{v:.2f} s", short)
    team = ratio("queue-cold-j1", "queue-cold-j2")
    if team is not None:
        add(f"queue cold -j 2 ≥ {T['team_j1_over_j2']}× faster than -j 1", None if short else team,
            team >= T["team_j1_over_j2"], f"{team:.2f}× ({by['queue-cold-j1']['wall_s']:.1f} s vs "
            f"{by['queue-cold-j2']['wall_s']:.1f} s; load {by['queue-cold-j1']['load_1min']:.1f} / "
            f"{by['queue-cold-j2']['load_1min']:.1f})", short)
    return out


def machine_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# =====================================================================================
# main
# =====================================================================================

GROUPS = ["large", "typical", "batch", "team"]


def ocr_timing(folder: Path | None = None) -> dict:
    """Seconds to read each labelled screenshot (corpus/screenshots) cold (empty
    cache: recognition) and cached (the digest's entry), in this process; the
    engine's one-off load is reported apart."""
    import hashlib
    import time

    from evidencepack.inputs import ocr

    folder = folder or REPO / "corpus" / "screenshots"
    files = sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg"))
    cache = Path(tempfile.mkdtemp(prefix="evidencepack-bench-ocr-"))
    try:
        t = time.perf_counter()
        if not ocr.available():
            return {"engine": None, "note": ocr.INSTALL_HINT}
        load = time.perf_counter() - t
        cold, cached = [], []
        for path in files:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            for times in (cold, cached):
                t = time.perf_counter()
                ocr.read_cached(data, digest, cache)
                times.append(time.perf_counter() - t)
        return {"engine": f"{ocr.ENGINE} {ocr.engine_version()}", "screenshots": len(files),
                "engine_load_s": round(load, 2),
                "cold_s": {"median": round(statistics.median(cold), 2), "max": round(max(cold), 2)},
                "cached_s": {"median": round(statistics.median(cached), 4),
                             "max": round(max(cached), 4)}}
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5,
                    help="rounds of the large and typical groups (default 5)")
    ap.add_argument("--long-runs", type=int, default=None,
                    help="rounds of the batch and team groups (default: min(runs, 3))")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 1 round of each group, 1,000 team cases")
    ap.add_argument("--team-cases", type=int, default=None,
                    help=f"case folders for queue/audit (default {TEAM_CASES:,}; --quick 1,000)")
    ap.add_argument("--profile", action="store_true",
                    help="also profile one cold large build (py-spy if installed)")
    ap.add_argument("--only", default=None,
                    help="comma-separated groups to run: " + ", ".join(GROUPS + ["profile"]))
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    ap.add_argument("--cases-dir", type=Path, default=None,
                    help="where generated cases are kept (default benchmarks/.cases)")
    ap.add_argument("--results-dir", type=Path, default=None,
                    help="where results are written (default benchmarks/results)")
    ap.add_argument("--ocr", action="store_true",
                    help="only time reading the labelled screenshots, cold and cached")
    args = ap.parse_args(argv)
    if args.ocr:
        print(json.dumps(ocr_timing(), indent=2))
        return 0
    global CASES, RESULTS, BATCH_EXPORT
    if args.cases_dir:
        CASES = args.cases_dir / f"v{GEN_VERSION}"
        BATCH_EXPORT = CASES / "batch-export.csv"
    if args.results_dir:
        RESULTS = args.results_dir

    runs = 1 if args.quick else args.runs
    long_runs = args.long_runs or (1 if args.quick else min(runs, 3))
    team_cases = args.team_cases or (1000 if args.quick else TEAM_CASES)
    only = set(args.only.split(",")) if args.only else set(GROUPS) | (
        {"profile"} if args.profile else set())
    unknown = only - set(GROUPS) - {"profile"}
    if unknown:
        ap.error(f"unknown group(s): {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="evidencepack-bench-"))
    code = snapshot_code(work)
    print(f"measuring evidencepack at {code['commit'][:10] if code['commit'] else '?'}"
          f"{' + uncommitted changes' if code['dirty'] else ''} (a copy in {code['copied_to']}); "
          f"load {machine_load()}", flush=True)
    cases = ensure_cases(need_batch="batch" in only) if only & {"large", "typical", "batch",
                                                                "profile"} else {}
    bench = Bench(work)
    by: dict[str, dict] = {}
    fixed = ["--now", NOW, "--generated-at", GENERATED_AT]
    naive_script, floor_script = str(HERE / "naive.py"), str(HERE / "floor.py")
    started = datetime.now().astimezone()
    loads = {"start": machine_load()}
    try:
        for size in ("large", "typical"):
            if size not in only:
                continue
            case = str(cases[size])
            group = {
                f"{size}-cold": (f"evidencepack build, cold, {size}",
                                 lambda out, d, c=case: ep("build", c, "-o", str(out), *fixed),
                                 "cold"),
                f"{size}-naive": (f"naive script, shrunk photos, {size}",
                                  lambda out, d, c=case: [sys.executable, naive_script, c, str(out)],
                                  "cold")}
            group[f"{size}-floor" if size == "typical" else "floor"] = (
                f"floor, {size}", lambda out, d, c=case: [sys.executable, floor_script, c, str(out)],
                "cold")
            if size == "large":
                group.update({
                    "large-originals": ("naive script, original photos, large",
                                        lambda out, d: [sys.executable, naive_script, case, str(out),
                                                        "--originals"], "cold"),
                    "large-warm": ("evidencepack build, warm, large",
                                   lambda out, d: ep("build", case, "-o", str(out), *fixed), "large"),
                    "large-check": ("evidencepack check, large",
                                    lambda out, d: ep("check", case, "--now", NOW, "--json"),
                                    "large")})
            print(f"{size} case, {runs} round(s), load {machine_load()}", flush=True)
            by.update(bench.alternate(group, runs))
        if "batch" in only:
            export = str(write_batch_export())

            def batch(jobs):
                return lambda out, d: ep("batch", export, "--cases-root", str(CASES / "batch"),
                                         "--out", str(d / "packs"), "-j", str(jobs), *fixed)

            print(f"batch of {BATCH_CASES} typical cases, {long_runs} round(s), "
                  f"load {machine_load()}", flush=True)
            by.update(bench.alternate({"batch-j1": (f"batch {BATCH_CASES} typical, -j 1", batch(1),
                                                    "cold"),
                                       "batch-j2": (f"batch {BATCH_CASES} typical, -j 2", batch(2),
                                                    "cold")}, long_runs))
        if "team" in only:
            root = str(ensure_team(team_cases))

            def over(command, *extra):
                return lambda out, d: ep(command, root, "--json", "--now", NOW, *extra)

            print(f"queue / audit over {team_cases:,} case folders, {long_runs} round(s), "
                  f"load {machine_load()}", flush=True)
            by.update(bench.alternate({
                "queue-warm": (f"queue --json, {team_cases:,} cases, warm", over("queue"), "team"),
                "audit-warm": (f"audit --json, {team_cases:,} cases, warm", over("audit"), "team"),
                "queue-table": (f"queue (table), {team_cases:,} cases, warm", lambda out, d: ep(
                    "queue", root, "--now", NOW), "team"),
            }, long_runs))
            by.update(bench.alternate({
                "queue-cold-j1": (f"queue --json, {team_cases:,} cases, cold, -j 1",
                                  over("queue", "-j", "1"), "cold"),
                "queue-cold-j2": (f"queue --json, {team_cases:,} cases, cold, -j 2",
                                  over("queue", "-j", "2"), "cold")}, long_runs))
        profile = None
        if "profile" in only:
            print(f"profiling one cold large build, load {machine_load()} ...", flush=True)
            profile = profile_large(bench, cases["large"])
        loads["end"] = machine_load()

        table = ""
        if by:
            print()
            table = print_table(by)
        targets = evaluate_targets(by, team_cases)
        if targets:
            print(f"\nTargets (issue 16; load at start {loads['start']}, at end {loads['end']}):")
            for t in targets:
                mark = "n/a" if t["met"] is None else ("met" if t["met"] else "NOT MET")
                print(f"  {mark:<8} {t['target']:<62} {t['shown']}")
        if "large-originals" in by:
            o = by["large-originals"]
            print(f"  (reference) naive script with original photos: {o['wall_s']:.2f} s, "
                  f"{o['pdf_bytes'] / 1e6:.1f} MB PDF, which no platform accepts")
        if profile:
            print("\n" + profile)
        info = machine_info(bench.last_large_pdf)
        print("\nMachine:", ", ".join(f"{k}={v}" for k, v in info.items()
                                      if k != "fonts_embedded_in_large_pdf"))
        if info.get("fonts_embedded_in_large_pdf"):
            print("Fonts embedded in the large pack:", ", ".join(info["fonts_embedded_in_large_pdf"]))
        if by:
            RESULTS.mkdir(parents=True, exist_ok=True)
            result = {
                "schema": "evidencepack.bench/2", "generator_version": GEN_VERSION,
                "started": started.isoformat(), "code": code, "runs": runs,
                "long_runs": long_runs, "load": loads, "machine": info,
                "cases": {"typical": TYPICAL, "large": LARGE, "batch": f"{BATCH_CASES} × typical",
                          "team": team_cases},
                "scenarios": by, "targets": targets, "table": table, "profile": profile,
            }
            name = "quick.json" if args.quick else "latest.json"
            (RESULTS / name).write_text(json.dumps(result, ensure_ascii=False, indent=2))
            print(f"\nwrote {RESULTS / name}")
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
