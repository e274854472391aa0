#!/usr/bin/env python3
"""evidencepack benchmark (issue 7): deterministic synthetic cases, medians, a naive baseline.

    python benchmarks/run.py              # 5 runs of every scenario, table + results/latest.json
    python benchmarks/run.py --quick      # 2 runs (1 for batch), for a quick look
    python benchmarks/run.py --profile    # also cProfile one cold large build in-process
    python benchmarks/run.py --only profile          # just the profile
    python benchmarks/run.py --only large-cold,baseline --runs 3

Run it with the interpreter that has evidencepack installed (the project's venv).

Cases are generated from fixed seeds and cached under ``benchmarks/.cases/v<GEN_VERSION>``
(12 MP JPEGs take about a second each to make); bump GEN_VERSION when the generator
changes. Every measured run is a separate subprocess, and its wall time, peak RSS and
CPU time come from ``os.wait4`` on that process alone. ``build cold`` gets a fresh,
empty EVIDENCEPACK_CACHE each run; ``build warm`` reuses a cache filled by an untimed
build. The naive baseline renders the same Analysis with the same templates, but with
``images.prepare`` replaced by "use the original file", so WeasyPrint embeds the
original 12 MP JPEGs: the only difference is image preparation.

Sizes: PDF sizes and peak RSS are reported in MB = 10^6 bytes (stricter than MiB when
compared with the targets).
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

# The targets for a 2-core machine.
TARGETS = {
    "large_cold_wall_s": 4.0,
    "large_cold_rss_mb": 300.0,
    "large_cold_pdf_mb": 10.0,
    "speedup_vs_baseline": 2.0,
    "size_vs_baseline": 0.25,
    "warm_vs_cold": 0.75,
    "batch_j2_wall_s": 60.0,
    "batch_j1_over_j2": 1.6,
    "check_large_wall_s": 1.0,
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
              f"(cached in {CASES.relative_to(REPO)}) ...", flush=True)
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
            "raw": runs, **extra}


class Bench:
    def __init__(self, runs: int, batch_runs: int, work: Path):
        self.runs = runs
        self.batch_runs = batch_runs
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

    def _once(self, cmd_for, cache: Path, label: str) -> dict:
        out_dir = self.fresh("out")
        out = out_dir / "pack.pdf"
        r = run_measured(cmd_for(out, out_dir), self.env(cache), out_dir / "log.txt")
        if r["rc"] not in (0, 1):  # check exits 1 for an incomplete case
            raise SystemExit(f"{label}: exit {r['rc']}:\n" + (out_dir / "log.txt").read_text()[-3000:])
        pdfs = [out] if out.exists() else sorted(out_dir.rglob("*.pdf"))
        r["pdf_bytes"] = sum(p.stat().st_size for p in pdfs) if pdfs else None
        r["pdf_files"] = len(pdfs)
        if label == "build cold, large" and pdfs:
            # kept for the font list in the machine info; the work folder goes at the end
            self.last_large_pdf = pdfs[0]
        else:
            shutil.rmtree(out_dir)
        return r

    def scenario(self, label: str, cmd_for, *, cache: str, runs: int | None = None) -> dict:
        """cache: "cold" (fresh empty cache per run) or "warm" (one cache, filled first)."""
        runs = runs or self.runs
        results = []
        warm_cache = None
        if cache == "warm":
            warm_cache = self.fresh("cache")
            self._once(cmd_for, warm_cache, label + " (fill)")
        for i in range(runs):
            c = warm_cache if warm_cache else self.fresh("cache")
            r = self._once(cmd_for, c, label)
            results.append(r)
            print(f"  {label:<34} run {i + 1}/{runs}: {r['wall_s']:6.2f} s  "
                  f"{r['rss_mb']:6.0f} MB RSS  {r['cpu_s']:6.2f} s CPU  load {r['load_1min']:.1f}  "
                  + (f"{r['pdf_bytes'] / 1e6:7.2f} MB PDF" if r["pdf_bytes"] else ""), flush=True)
            if warm_cache is None:
                shutil.rmtree(c)
        return summarise(label, results, cache=cache)


def batch_help() -> str | None:
    try:
        proc = subprocess.run(ep("batch", "--help"), capture_output=True, text=True, timeout=120,
                              cwd=REPO)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


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


def batch_command(help_text: str, root: Path, out_dir: Path, jobs: int) -> list[str]:
    """`evidencepack batch EXPORT --cases-root ROOT --out OUT -j N` (fitted to its --help)."""
    cmd = ep("batch", str(write_batch_export()), "--cases-root", str(root),
             "--out", str(out_dir / "packs"), "-j", str(jobs))
    for opt, value in (("--now", NOW), ("--generated-at", GENERATED_AT)):
        if opt in help_text:
            cmd += [opt, value]
    return cmd


# =====================================================================================
# The naive baseline (runs in its own subprocess: `run.py _baseline CASE OUT`)
# =====================================================================================

def baseline_main(case_dir: str, output: str) -> None:
    """The naive way: the same Analysis and the same HTML given to WeasyPrint once, in
    one process, with the original image files and Python's defaults (cycle collector on)."""
    import contextlib

    from evidencepack.pack import render
    from evidencepack.options import BuildOptions
    from evidencepack.pipeline import analyse

    def original(src, sha256, **_kw):  # images.prepare as the naive renderer would do it
        return Path(src)

    render.prepare = original
    render.without_cycle_collection = contextlib.nullcontext
    analysis = analyse(Path(case_dir), BuildOptions(now=NOW))
    render.build_pack(analysis, BuildOptions(
        output=Path(output), generated_at=GENERATED_AT, jobs=1))


# =====================================================================================
# Profile
# =====================================================================================

class StageLog:
    """Start and end of each stage, in every process of one build.

    The pack's second piece is laid out in a forked process, which inherits these
    wrappers; each process appends its own lines to one file.
    """

    def __init__(self, path: Path):
        self.path = path
        self.t0 = time.perf_counter()  # the same clock after fork (CLOCK_MONOTONIC)
        self.saved: list = []

    def wrap(self, obj, attr: str, name: str) -> None:
        fn = getattr(obj, attr)
        self.saved.append((obj, attr, fn))
        log = self

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with open(log.path, "a") as out:
                    out.write(f"{os.getpid()}\t{name}\t{start - log.t0:.3f}\t"
                              f"{time.perf_counter() - log.t0:.3f}\n")
        setattr(obj, attr, wrapper)

    def restore(self) -> None:
        for obj, attr, fn in reversed(self.saved):
            setattr(obj, attr, fn)

    def read(self) -> list[dict]:
        rows = []
        for line in self.path.read_text().splitlines():
            pid, name, start, end = line.split("\t")
            rows.append({"pid": int(pid), "stage": name, "start_s": float(start),
                         "end_s": float(end)})
        for r in rows:
            r["process"] = "main" if r["pid"] == os.getpid() else "layout child"
        return sorted(rows, key=lambda r: r["start_s"])


def phase_timings(case_dir: Path, jobs: int | None) -> list[dict]:
    """When each stage of one cold large build ran, in which process (in-process, no profiler)."""
    import weasyprint.document

    from evidencepack.pack import appended, parallel, render
    from evidencepack import pipeline
    from evidencepack.options import BuildOptions
    from evidencepack.pipeline import analyse

    work = Path(tempfile.mkdtemp(prefix="evidencepack-bench-phase-"))
    os.environ["EVIDENCEPACK_CACHE"] = str(work / "cache")
    log = StageLog(work / "stages.tsv")
    for obj, attr, name in [
            (pipeline, "gather", "gather: hash, probe and prepare photos (threads)"),
            (pipeline, "_parse_chat", "parse chat"),
            (render, "_prepare_all", "page copies (cached by gather)"),
            (render, "build_context", "view model"),
            (parallel, "split", "render template + split (Jinja2)"),
            (parallel, "lay_out", "WeasyPrint layout"),
            (weasyprint.document.Document, "write_pdf", "WeasyPrint draw + write"),
            (parallel, "_stitch", "stitch pieces (pypdf)"),
            (appended, "stamp", "lay report pages on their placeholders"),
            (render, "write_pair", "write PDF + manifest (fsync)")]:
        log.wrap(obj, attr, name)
    try:
        analysis = analyse(case_dir, BuildOptions(now=NOW))
        render.build_pack(analysis, BuildOptions(
            output=work / "pack.pdf", generated_at=GENERATED_AT,
            jobs=jobs))
        return log.read()
    finally:
        log.restore()
        shutil.rmtree(work, ignore_errors=True)


def profile_large(case_dir: Path, top: int = 25) -> dict:
    """cProfile one cold build of the large case in-process, and its layout child apart.

    Photos are probed and prepared in a thread pool, which the main thread's profiler
    does not see: every probe is profiled on its own and reported together (their
    times add up across threads). The forked layout process dumps its own profile.
    """
    import cProfile
    import io
    import pstats
    import threading

    from evidencepack.inputs import evidence
    from evidencepack.pack import parallel, render
    from evidencepack.options import BuildOptions
    from evidencepack.pipeline import analyse

    cache = Path(tempfile.mkdtemp(prefix="evidencepack-bench-profile-cache-"))
    out_dir = Path(tempfile.mkdtemp(prefix="evidencepack-bench-profile-out-"))
    os.environ["EVIDENCEPACK_CACHE"] = str(cache)
    worker_profiles: list = []
    lock = threading.Lock()
    real_probe, real_child = evidence.probe_cached, parallel._child
    child_stats = out_dir / "child.pstats"

    def profiled_probe(*args, **kwargs):
        prof = cProfile.Profile()
        try:
            return prof.runcall(real_probe, *args, **kwargs)
        finally:
            with lock:
                worker_profiles.append(prof)

    def profiled_child(*args):
        prof = cProfile.Profile()
        try:
            prof.runcall(real_child, *args)
        finally:
            prof.dump_stats(child_stats)

    evidence.probe_cached = profiled_probe
    parallel._child = profiled_child
    main = cProfile.Profile()
    phases = {}
    t0 = time.perf_counter()
    main.enable()
    try:
        analysis = analyse(case_dir, BuildOptions(now=NOW))
        phases["analyse"] = time.perf_counter() - t0
        result = render.build_pack(analysis, BuildOptions(
            output=out_dir / "pack.pdf", generated_at=GENERATED_AT))
    finally:
        main.disable()
        evidence.probe_cached, parallel._child = real_probe, real_child
    phases["total (in-process, imports excluded)"] = time.perf_counter() - t0

    RESULTS.mkdir(parents=True, exist_ok=True)
    main.dump_stats(RESULTS / "profile-main.pstats")
    text = io.StringIO()
    stats = pstats.Stats(main, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    text.write("\n--- main process, by own time (tottime) ---\n")
    stats.sort_stats("tottime").print_stats(15)
    if child_stats.exists():
        cstats = pstats.Stats(str(child_stats), stream=text)
        cstats.dump_stats(RESULTS / "profile-child.pstats")
        text.write("\n--- layout child (the pack's second piece), cumulative ---\n")
        cstats.sort_stats("cumulative").print_stats(15)
        text.write("\n--- layout child, by own time (tottime) ---\n")
        cstats.sort_stats("tottime").print_stats(12)
    if worker_profiles:
        wstats = pstats.Stats(worker_profiles[0], stream=text)
        for p in worker_profiles[1:]:
            wstats.add(p)
        wstats.dump_stats(RESULTS / "profile-workers.pstats")
        text.write(f"\n--- photo threads ({len(worker_profiles)} probes, each decoding once for "
                   "the quality measures and the page copy; times summed over threads) ---\n")
        wstats.sort_stats("tottime").print_stats(12)
    report = text.getvalue()
    (RESULTS / "profile.txt").write_text(report)
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    return {"phases_s": phases, "pages": result.pages, "pdf_bytes": result.size,
            "report": report}


# =====================================================================================
# Machine info, table, targets
# =====================================================================================

def machine_info(pdf: Path | None) -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
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
    try:
        info["cjk_font_match"] = subprocess.run(
            ["fc-match", "-f", "%{family[0]}: %{file}", "WenQuanYi Micro Hei"],
            capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        info["cjk_font_match"] = None
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


def _fmt(v, unit="", digits=2):
    return "—" if v is None else f"{v:.{digits}f}{unit}"


def print_table(rows: list[dict], baseline: dict | None) -> str:
    lines = [f"{'scenario':<36}{'runs':>5}{'median s':>10}{'min–max s':>14}{'CPU s':>8}"
             f"{'peak RSS MB':>13}{'tree Σ MB':>11}{'tree PSS':>10}{'PDF MB':>9}{'t/base':>8}{'size/base':>10}{'RSS/base':>9}{'load':>6}"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        ratio = lambda key: (r[key] / baseline[key] if baseline and r.get(key) and baseline.get(key)  # noqa: E731
                             and r.get("vs_baseline") else None)
        lines.append(
            f"{r['name']:<36}{r['runs']:>5}{_fmt(r['wall_s']):>10}"
            f"{_fmt(r['wall_min_s']) + '–' + _fmt(r['wall_max_s']):>14}"
            f"{_fmt(max(r['cpu_s'] or 0, r.get('tree_cpu_s') or 0), '', 1):>8}"
            f"{_fmt(r['rss_mb'], '', 0):>13}{_fmt(r.get('tree_rss_sum_mb'), '', 0):>11}"
            f"{_fmt(r.get('tree_pss_sum_mb'), '', 0):>10}"
            f"{_fmt(r['pdf_bytes'] / 1e6 if r.get('pdf_bytes') else None):>9}"
            f"{_fmt(ratio('wall_s'), '×'):>8}{_fmt(ratio('pdf_bytes'), '×', 3):>10}"
            f"{_fmt(ratio('rss_mb'), '×'):>9}{_fmt(r.get('load_1min'), '', 1):>6}")
    text = "\n".join(lines)
    print(text)
    return text


def evaluate_targets(by: dict[str, dict], batch_available: bool) -> list[dict]:
    out = []

    def add(name, value, limit, ok, shown):
        out.append({"target": name, "value": value, "limit": limit,
                    "met": None if value is None else bool(ok), "shown": shown})

    cold, warm, base = by.get("large-cold"), by.get("large-warm"), by.get("baseline")
    check, j1, j2 = by.get("large-check"), by.get("batch-j1"), by.get("batch-j2")
    if cold:
        add("large cold build ≤ 4 s wall", cold["wall_s"], 4.0,
            cold["wall_s"] <= TARGETS["large_cold_wall_s"], f"{cold['wall_s']:.2f} s")
        # The build and its forked layout process together: their PSS, which counts
        # shared pages once (or the main process's RSS, if that is larger).
        memory = max(cold["rss_mb"], cold.get("tree_pss_sum_mb") or 0)
        add("large cold build ≤ 300 MB peak memory", memory, 300.0,
            memory <= TARGETS["large_cold_rss_mb"],
            f"{memory:.0f} MB (main process RSS {cold['rss_mb']:.0f} MB, all processes' "
            f"PSS {cold.get('tree_pss_sum_mb') or 0:.0f} MB)")
        add("large cold PDF ≤ 10 MB", cold["pdf_bytes"] / 1e6, 10.0,
            cold["pdf_bytes"] / 1e6 <= TARGETS["large_cold_pdf_mb"], f"{cold['pdf_bytes'] / 1e6:.2f} MB")
    if cold and base:
        speedup = base["wall_s"] / cold["wall_s"]
        add("≥ 2× faster than the naive baseline", speedup, 2.0,
            speedup >= TARGETS["speedup_vs_baseline"], f"{speedup:.2f}× faster")
        size = cold["pdf_bytes"] / base["pdf_bytes"]
        add("≤ 1/4 of the baseline's PDF size", size, 0.25, size <= TARGETS["size_vs_baseline"],
            f"{size:.3f} of baseline")
    if cold and warm:
        ratio = warm["wall_s"] / cold["wall_s"]
        add("warm rebuild ≤ 75 % of cold", ratio, 0.75, ratio <= TARGETS["warm_vs_cold"],
            f"{ratio * 100:.0f} % of cold")
    if check:
        add("check on the large case ≤ 1 s", check["wall_s"], 1.0,
            check["wall_s"] <= TARGETS["check_large_wall_s"], f"{check['wall_s']:.2f} s")
    if j2:
        add("batch 50 typical -j 2 ≤ 60 s", j2["wall_s"], 60.0,
            j2["wall_s"] <= TARGETS["batch_j2_wall_s"], f"{j2['wall_s']:.1f} s")
    elif not batch_available:
        add("batch 50 typical -j 2 ≤ 60 s", None, 60.0, None, "batch: not available")
    if j1 and j2:
        s = j1["wall_s"] / j2["wall_s"]
        add("batch -j 2 ≥ 1.6× faster than -j 1", s, 1.6, s >= TARGETS["batch_j1_over_j2"],
            f"{s:.2f}×")
    elif not batch_available:
        add("batch -j 2 ≥ 1.6× faster than -j 1", None, 1.6, None, "batch: not available")
    return out


# =====================================================================================
# main
# =====================================================================================

SCENARIOS = ["imports", "large-cold", "large-warm", "large-check", "typical-cold", "baseline",
             "batch-j1", "batch-j2"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_baseline"]:
        baseline_main(argv[1], argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="measured runs per scenario (default 5)")
    ap.add_argument("--batch-runs", type=int, default=None,
                    help="runs of each batch scenario (default: min(runs, 3); a run is 50 builds)")
    ap.add_argument("--quick", action="store_true", help="2 runs per scenario, 1 per batch scenario")
    ap.add_argument("--profile", action="store_true",
                    help="also cProfile one cold large build in-process (top 25 cumulative)")
    ap.add_argument("--only", default=None,
                    help="comma-separated subset of: " + ", ".join(SCENARIOS + ["profile"]))
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    args = ap.parse_args(argv)

    runs = 2 if args.quick else args.runs
    batch_runs = args.batch_runs or (1 if args.quick else min(runs, 3))
    only = set(args.only.split(",")) if args.only else set(SCENARIOS) | ({"profile"} if args.profile else set())
    unknown = only - set(SCENARIOS) - {"profile"}
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="evidencepack-bench-"))
    code = snapshot_code(work)
    print(f"measuring evidencepack at {code['commit'][:10] if code['commit'] else '?'}"
          f"{' + uncommitted changes' if code['dirty'] else ''} (a copy in {code['copied_to']})",
          flush=True)
    help_text = batch_help() if only & {"batch-j1", "batch-j2"} else None
    batch_available = help_text is not None
    cases = ensure_cases(need_batch=batch_available)

    bench = Bench(runs, batch_runs, work)
    by: dict[str, dict] = {}
    fixed = ["--now", NOW, "--generated-at", GENERATED_AT]
    large, typical = str(cases["large"]), str(cases["typical"])
    started = datetime.now().astimezone()
    try:
        if "imports" in only:
            by["imports"] = bench.scenario(
                "imports only (fixed start-up cost)",
                lambda out, d: [sys.executable, "-c", "import evidencepack.cli, evidencepack.pipeline, "
                                "evidencepack.pack.render, weasyprint, PIL.Image, pypdf"],
                cache="cold")
        if "large-cold" in only:
            by["large-cold"] = bench.scenario(
                "build cold, large", lambda out, d: ep("build", large, "-o", str(out), *fixed),
                cache="cold")
            by["large-cold"]["vs_baseline"] = True
        if "large-warm" in only:
            by["large-warm"] = bench.scenario(
                "build warm, large", lambda out, d: ep("build", large, "-o", str(out), *fixed),
                cache="warm")
            by["large-warm"]["vs_baseline"] = True
        if "large-check" in only:
            by["large-check"] = bench.scenario(
                "check, large", lambda out, d: ep("check", large, "--now", NOW, "--json"),
                cache="warm")
        if "typical-cold" in only:
            by["typical-cold"] = bench.scenario(
                "build cold, typical", lambda out, d: ep("build", typical, "-o", str(out), *fixed),
                cache="cold")
        if "baseline" in only:
            by["baseline"] = bench.scenario(
                "naive baseline, large",
                lambda out, d: [sys.executable, str(Path(__file__).resolve()), "_baseline", large, str(out)],
                cache="cold")
        for jobs in (1, 2):
            key = f"batch-j{jobs}"
            if key not in only:
                continue
            if not batch_available:
                print(f"batch: not available (`evidencepack batch --help` failed); "
                      f"skipping {key}")
                continue
            by[key] = bench.scenario(
                f"batch 50 typical, -j {jobs}",
                lambda out, d, jobs=jobs: batch_command(help_text, CASES / "batch", d, jobs),
                cache="cold", runs=batch_runs)

        previous = None
        if args.only and (RESULTS / "latest.json").exists():
            # --only re-measures some scenarios; keep the others from the last full run
            previous = json.loads((RESULTS / "latest.json").read_text())
            for key, value in previous.get("scenarios", {}).items():
                if key not in by:
                    by[key] = {**value, "measured": value.get("measured") or previous.get("started")}
        for value in by.values():
            value.setdefault("measured", started.isoformat())
        profile = None
        if "profile" in only:
            print("timing the stages of one cold large build in-process ...", flush=True)
            stages = {"pieces": phase_timings(cases["large"], None),
                      "whole (-j 1)": phase_timings(cases["large"], 1)}
            print("profiling one cold large build in-process (cProfile) ...", flush=True)
            profile = profile_large(cases["large"])
            profile["stages"] = stages

        rows = [by[k] for k in SCENARIOS if k in by]
        table = ""
        if rows:
            print()
            table = print_table(rows, by.get("baseline"))
        if not batch_available and only & {"batch-j1", "batch-j2"}:
            print("batch: not available")
        targets = evaluate_targets(by, batch_available or not (only & {'batch-j1', 'batch-j2'}))
        if targets:
            print("\nTargets (2-core machine):")
            for t in targets:
                mark = "n/a" if t["met"] is None else ("met" if t["met"] else "NOT MET")
                print(f"  {mark:<8} {t['target']:<40} {t['shown']}")
        if profile:
            for mode, rows in profile["stages"].items():
                print(f"\nStages of one cold large build, {mode} (in-process, no profiler, "
                      "seconds from the start of analyse; imports excluded):")
                for r in rows:
                    print(f"  {r['start_s']:6.2f} – {r['end_s']:6.2f}  {r['end_s'] - r['start_s']:5.2f} s"
                          f"  {r['process']:<13} {r['stage']}")
            print("\ncProfile of one cold large build (profiler overhead inflates Python-heavy "
                  "code ~2×):", {k: round(v, 2) for k, v in profile["phases_s"].items()})
            print(profile["report"])
        info = machine_info(bench.last_large_pdf)
        print("\nMachine:", ", ".join(f"{k}={v}" for k, v in info.items()
                                      if k != "fonts_embedded_in_large_pdf"))
        if info.get("fonts_embedded_in_large_pdf"):
            print("Fonts embedded in the large pack:", ", ".join(info["fonts_embedded_in_large_pdf"]))
        if rows or profile:
            RESULTS.mkdir(parents=True, exist_ok=True)
            result = {
                "schema": "evidencepack.bench/1", "generator_version": GEN_VERSION,
                "started": started.isoformat(), "code": code, "runs": runs, "batch_runs": batch_runs,
                "machine": info, "cases": {"typical": TYPICAL, "large": LARGE,
                                           "batch": f"{BATCH_CASES} × typical"},
                "batch_available": batch_available, "scenarios": by, "targets": targets,
                "table": table,
                "profile": ({k: v for k, v in profile.items() if k != "report"} if profile
                            else (previous or {}).get("profile")),
            }
            (RESULTS / "latest.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
            print(f"\nwrote {(RESULTS / 'latest.json').relative_to(REPO)}")
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
