#!/usr/bin/env bash
# Debian packages the platform needs beyond Python: tesseract with Chinese data (screenshot
# verification), CJK fonts (posters) and Chromium (the console's browser tests, driven by Playwright). Extra
# package names given as arguments are added (`make
# bench` adds wrk). Idempotent: installs only what is missing.
set -euo pipefail

packages=(tesseract-ocr tesseract-ocr-chi-sim fonts-noto-cjk chromium "$@")
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${packages[*]}"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing ${missing[*]} and apt-get is not available; install them with your package manager" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "error: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi

echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages installed: ${missing[*]}"
