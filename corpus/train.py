"""Train the naive Bayes back-up of a tag's rules on the corpus's dev part, and write its model.

    python corpus/train.py

The tags with a back-up are those with `classifier` in
evidencepack/data/chat_tags.toml; each is trained on the dev part's messages
of its role (never the test part) and written to evidencepack/data/. The
same dev part gives the same file; the tests check the shipped one is it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evidencepack.judge.classifier import dump  # noqa: E402
from evidencepack.judge.evaluate import load_messages  # noqa: E402
from evidencepack.judge.tagging import train_backups  # noqa: E402


def main() -> None:
    dev = load_messages(ROOT / "corpus" / "messages" / "dev.jsonl")
    for name, model in train_backups(dev, "corpus/messages/dev.jsonl").items():
        (ROOT / "evidencepack" / "data" / name).write_text(dump(model), encoding="utf-8")
        print(f"{model.tag}: {model.positives} positive and {model.negatives} negative dev messages, "
              f"{len(model.weights)} n-grams -> evidencepack/data/{name}")


if __name__ == "__main__":
    main()
