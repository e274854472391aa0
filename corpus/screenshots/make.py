#!/usr/bin/env python3
"""Write the labelled screenshot set of this folder: chat (phone and workbench),
listing and tracking screens in several sizes, both CJK faces installed, PNG and
JPEG at several qualities, with labels.json saying what each shows.

Deterministic (fixed seed, messages from corpus/messages/dev.jsonl); run again
after changing draw.py:  .venv/bin/python corpus/screenshots/make.py
`evidencepack evaluate` reads the set (evidencepack/judge/evaluate.py, screenshot_section).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import draw

HERE = Path(__file__).resolve().parent
TZ = ZoneInfo("Asia/Shanghai")
BUYER, SELLER = "小王爱购物", "好物旗舰店:小美"
TRACK = [
    (0, "【杭州市】圆通速递 杭州转运中心公司 已揽收"),
    (9, "【杭州市】快件已发往 武汉转运中心"),
    (26, "【武汉市】快件已到达 武汉转运中心"),
    (40, "【武汉市】快递员正在为您派件，联系电话已隐藏"),
    (44, "【武汉市】您的快件已签收，签收人：门卫，如有疑问请联系派件员"),
]
LISTING = [
    dict(title="青禾雾霾蓝V领针织开衫女2024春季新款宽松羊毛混纺毛衣外套", price="￥399.00",
         policy="保障 赠运费险·7天无理由退货·极速退款", specs=[("材质", "羊毛30% 腈纶70%"),
         ("颜色分类", "雾霾蓝 奶白")], disclaimer="注：颜色以实物为准，不同显示器存在色差",
         promise=None, facts=["attribute", "specs", "disclaimer", "policy"]),
    dict(title="景德镇青花陶瓷马克杯380ml 礼盒装", price="￥59.90", policy=None,
         specs=[("容量", "380ml"), ("产地", "江西景德镇")], disclaimer=None,
         promise="付款后48小时内发货 破损包赔", facts=["specs", "promise"]),
    dict(title="无线蓝牙耳机 主动降噪 长续航", price="￥129.00", policy="支持7天无理由退换，一年质保",
         specs=[], disclaimer=None, promise=None, facts=["policy"]),
]


def _says(rng: random.Random, texts: list[dict], n: int, start: datetime) -> list[draw.Say]:
    at, says = start, []
    for record in rng.sample(texts, n):
        at += timedelta(minutes=rng.choice([0, 1, 1, 2, 7]))
        says.append(draw.Say(record["role"], at, record["text"]))
    if n > 4:
        says.insert(3, draw.Say("buyer", says[2].at, "", "image"))
    return says


def main() -> None:
    rng = random.Random(19)
    texts = [json.loads(line) for line in
             (HERE.parent / "messages" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [t for t in texts if 4 <= len(t["text"]) <= 60]
    labels = []
    variants = [  # layout, style, quality
        ("phone", draw.Style(), None), ("phone", draw.Style(face=1, separator="cn"), 85),
        ("phone", draw.Style(width=1080, height=1920, size=40, separator="short"), 70),
        ("phone", draw.Style(width=600, height=1067, size=22), 60),
        ("workbench", draw.Style(width=1100, height=820, size=17), None),
        ("workbench", draw.Style(width=1280, height=900, size=19, face=1), 75),
    ]
    for old in HERE.glob("*.png"):
        old.unlink()
    for old in HERE.glob("*.jpg"):
        old.unlink()
    start = datetime(2024, 3, 12, 10, 15, tzinfo=TZ)
    for n, (layout, style, quality) in enumerate(variants * 2):
        says = _says(rng, texts, 6, start + timedelta(days=n))
        shot = (draw.chat_phone(says, title=BUYER, style=style) if layout == "phone" else
                draw.chat_workbench(says, buyer=BUYER, seller=SELLER, style=style))[0]
        name = f"chat-{n:02d}-{layout}-{style.width}{'-q%d' % quality if quality else ''}"
        _write(labels, name, quality, shot, kind="chat", layout=layout,
               people={"buyer": BUYER, "seller": SELLER})
    for n, spec in enumerate(LISTING * 2):
        style = [draw.Style(), draw.Style(width=1080, height=1920, size=38, face=1)][n // 3]
        shot = draw.listing(**spec, style=style)
        _write(labels, f"listing-{n:02d}-{style.width}", [None, 80][n % 2], shot, kind="listing",
               layout="phone")
    styles = [draw.Style(), draw.Style(width=1080, height=1920, size=36, face=1),
              draw.Style(width=600, height=1067, size=22)]
    for n, style in enumerate(styles * 2):
        t0 = datetime(2024, 3, 9 + n, 18, 20, tzinfo=TZ)
        shot = draw.tracking(carrier="圆通速递", number=f"YT73123456789{n:02d}", style=style,
                             events=[(t0 + timedelta(hours=h), text) for h, text in TRACK])
        _write(labels, f"tracking-{n:02d}-{style.width}", [None, 85, 65][n % 3], shot,
               kind="tracking", layout="phone", captured=(t0 + timedelta(days=3)).isoformat())
    (HERE / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n",
                                      encoding="utf-8")


def _write(labels: list, name: str, quality: int | None, shot: draw.Shot, *, kind: str,
           layout: str, captured: str | None = None, people: dict | None = None) -> None:
    file = name + (".jpg" if quality else ".png")
    draw.save(shot.image, HERE / file, quality)
    labels.append({"id": name, "file": file, "kind": kind, "layout": layout,
                   "captured": captured or "2024-03-20T12:00:00+08:00", **(people or {}),
                   "messages": shot.messages, "lines": shot.lines, "facts": shot.facts,
                   "events": shot.events})


if __name__ == "__main__":
    main()
