#!/usr/bin/env bash
# Sets up evidencepack on Debian/Ubuntu: the system libraries WeasyPrint needs
# (pango, harfbuzz), a CJK font so Chinese never renders as tofu, a virtual
# environment in .venv with the package and its screenshot reader (the `ocr`
# extra; OpenCV in it needs libGL and GLib) in it. Safe to run again: it installs
# only what is missing.
#   bash scripts/setup.sh          # to use the tool
#   bash scripts/setup.sh --dev    # also test tools (pytest, hypothesis, poppler-utils)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

# WenQuanYi Micro Hei is the pack's CJK font: it embeds several times faster
# than Noto Sans CJK (see README, Performance).
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig
          fonts-wqy-microhei fonts-dejavu-core libgl1 libglib2.0-0)
[ "$dev" = 1 ] && packages+=(poppler-utils chromium)
python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || packages+=(python3)
"$python" -c "import ensurepip, venv" >/dev/null 2>&1 || packages+=(python3-venv)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
extra="[ocr]"
[ "$dev" = 1 ] && extra="[test,ocr]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"
echo "setup: ready (.venv/bin/evidencepack)"
