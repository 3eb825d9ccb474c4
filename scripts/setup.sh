#!/usr/bin/env bash
# Create .venv and install yiwang with the locked dependency set. Safe to rerun (a no-op when up to date).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  echo "yiwang needs Python 3.11 (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if ! command -v uv >/dev/null 2>&1; then
  echo "==> installing uv (fast installer) with pip"
  "$PY" -m pip install --quiet --user uv || "$PY" -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
UV="$(command -v uv)"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$UV" venv --quiet --python "$PY" .venv
fi
stamp=.venv/.yiwang-lock-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> installing locked dependencies (requirements.lock)"
  VIRTUAL_ENV=.venv "$UV" pip install --quiet -r requirements.lock
  VIRTUAL_ENV=.venv "$UV" pip install --quiet --no-deps --config-settings editable_mode=compat -e .
  rm -f .venv/.yiwang-lock-*
  touch "$stamp"
fi
