#!/usr/bin/env bash
# Everything Codec Explorer needs on a fresh Debian machine: system packages, then .venv.
# Idempotent: a second run only checks. Run from the checkout's root (as root, or with sudo for apt).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3-venv espeak-ng sox libsox-fmt-all libportaudio2 jackd2
  xvfb libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 fonts-dejavu-core
  chromium desktop-file-utils
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# PyPI's torch 2.9.1 for x86_64 is the CUDA build: the venv takes about 8.5 GB.
free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
if [ ! -x .venv/bin/python ] && [ "$free_kb" -lt 10000000 ]; then
  echo "setup: only $((free_kb / 1024 / 1024)) GB free here; the environment needs about 10 GB (torch with its CUDA libraries). Free some space and run this again." >&2
  exit 1
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import explorer, torch, PySide6, pytest" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install -q --no-cache-dir --upgrade pip
  .venv/bin/python -m pip install -q --no-cache-dir -e '.[test]'
  touch .venv/.installed
fi
echo "setup: ready (.venv/bin/codec-explorer)"
