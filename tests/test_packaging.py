"""What the wheel carries: every data folder and the templates, named in pyproject.

scripts/check-install.sh (run by CI) builds and installs the wheel itself; this
catches the commonest slip, a new data folder not listed, in the quick suite.
"""

from __future__ import annotations

import tomllib

from tests.conftest import REPO


def test_every_folder_of_the_package_is_in_the_wheel():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]
    data = REPO / "evidencepack" / "data"
    # Stage subpackages (inputs, judge, ...) and data folders alike.
    folders = {"evidencepack." + ".".join(p.relative_to(REPO / "evidencepack").parts)
               for p in (REPO / "evidencepack").rglob("*")
               if p.is_dir() and "__pycache__" not in p.parts}
    assert folders <= set(setuptools["packages"]), \
        f"list {sorted(folders - set(setuptools['packages']))} in pyproject's packages"
    assert setuptools["package-dir"]["evidencepack.templates"] == "templates"
    suffixes = {p.suffix for p in [*data.rglob("*"), *(REPO / "templates").iterdir()]
                if p.is_file()}
    assert {"*" + s for s in suffixes} <= set(setuptools["package-data"]["*"]), suffixes
