"""Add labelled messages to the corpus: each goes to dev or test by a hash of its id.

    python corpus/split.py NEW.jsonl [...]

A record whose id is already in the corpus replaces it (a corrected label);
the part files stay sorted by id, so a re-run changes nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evidencepack.judge.evaluate import PARTS, load_messages, part_of  # noqa: E402

HERE = Path(__file__).resolve().parent / "messages"


def main(paths: list[str]) -> None:
    records = {}
    for part in PARTS:
        path = HERE / f"{part}.jsonl"
        if path.exists():
            records.update((r.id, r) for r in load_messages(path))
    for name in paths:
        records.update((r.id, r) for r in load_messages(Path(name)))
    for part in PARTS:
        chosen = sorted((r for r in records.values() if part_of(r.id) == part), key=lambda r: r.id)
        with open(HERE / f"{part}.jsonl", "w", encoding="utf-8") as fh:
            for r in chosen:
                fh.write(json.dumps(r.model_dump(exclude_defaults=True) | {"tags": r.tags},
                                    ensure_ascii=False) + "\n")
        print(f"{part}: {len(chosen)} messages")


if __name__ == "__main__":
    main(sys.argv[1:])
