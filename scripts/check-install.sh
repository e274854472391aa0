#!/usr/bin/env bash
# Checks evidencepack as a user installs it, not as the editable checkout runs:
# builds the wheel (no setuptools warnings allowed), installs it with its
# dependencies into a fresh virtual environment, and from / builds a sample
# pack, verifies it and writes the audit dashboard. Run after scripts/setup.sh.
#   bash scripts/check-install.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/evidencepack-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

say() { echo "check-install: $*"; }
fail() { say "FAILED: $*"; exit 1; }
# Runs a command quietly; on failure shows its output, exit code and command line.
run() {
  local rc=0
  "$@" >"$work/step.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$work/step.log"
    fail "exit $rc from: $*"
  fi
}

say "building the wheel"
if ! "$repo/.venv/bin/python" -m pip wheel -v --no-deps --disable-pip-version-check \
    -w "$work/dist" "$repo" >"$work/wheel.log" 2>&1; then
  cat "$work/wheel.log"
  fail "pip wheel"
fi
# Python warnings from the build backend (deprecated fields, folders it would
# leave out of the wheel) are failures; "warning: byte-compiling is disabled"
# only echoes PYTHONDONTWRITEBYTECODE and is no Python warning.
if grep -E "[A-Za-z]Warning: " "$work/wheel.log"; then
  fail "the wheel build warned (log above)"
fi
wheel=$(ls "$work"/dist/evidencepack-*.whl)

# Every data file and template in the tree must be in the wheel, and the license.
run "$python" - "$repo" "$wheel" <<'EOF'
import sys, zipfile
from pathlib import Path

repo, wheel = Path(sys.argv[1]), zipfile.ZipFile(sys.argv[2])
names = set(wheel.namelist())
want = {"evidencepack/" + p.relative_to(repo / "evidencepack").as_posix()
        for p in (repo / "evidencepack" / "data").rglob("*") if p.is_file()}
want |= {"evidencepack/templates/" + p.relative_to(repo / "templates").as_posix()
         for p in (repo / "templates").rglob("*") if p.is_file()}
want = {n for n in want if "__pycache__" not in n}
missing = sorted(want - names)
if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
    missing.append("LICENSE")
metadata = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
if "License-Expression: MIT" not in metadata.splitlines():
    missing.append("License-Expression: MIT in METADATA")
if missing:
    sys.exit("check-install: the wheel lacks " + ", ".join(missing))
EOF

say "installing it into a fresh environment"
run "$python" -m venv "$work/venv"
run "$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel"
ep="$work/venv/bin/evidencepack"
out="$work/out"

cd /
# The installed package, not the checkout, must be what runs and what it reads.
run "$work/venv/bin/python" - "$work/venv" <<'EOF'
import sys
import evidencepack
from evidencepack.resources import builtin_templates

for what in (evidencepack.__file__, builtin_templates()):
    if not str(what).startswith(sys.argv[1]):
        sys.exit(f"check-install: {what} is outside the installed environment")
EOF
say "build, verify and audit --html from /"
run "$ep" build "$repo/samples/colour-mismatch" -o "$out/colour-mismatch.pdf" \
  --now 2024-03-13T09:00:00+08:00
[ -s "$out/colour-mismatch.pdf" ] || fail "build wrote no PDF"
run "$ep" verify "$out/colour-mismatch.pdf" --case "$repo/samples/colour-mismatch"
run "$ep" audit "$repo/samples" --html "$out/team.html" --now 2024-03-13T09:00:00+08:00
[ -s "$out/team.html" ] || fail "audit wrote no HTML"
say "ok: the wheel builds a pack and the dashboard outside the checkout"
