"""Where the files that ship with evidencepack are found, installed or in a checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def builtin_templates() -> Path:
    """The built-in templates folder (pack.html.j2, pack.css, labels.toml, audit.html.j2).

    A wheel carries the repository's top-level ``templates/`` as
    ``evidencepack/templates`` (pyproject maps one onto the other). An editable
    install or a copy of the source tree has no such folder inside the package,
    because setuptools' editable finder cannot import a mapped folder nested in a
    package; there the templates are the top-level folder beside the package.
    """
    packaged = files("evidencepack") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "templates"


# The package's data files (checklists, profiles, word lists); one place, so a module
# that moves between stages still finds them.
DATA = Path(__file__).resolve().parent / "data"
# The labelled corpus lives in a checkout, not in the wheel (evaluate needs a clone).
CORPUS = Path(__file__).resolve().parent.parent / "corpus"
