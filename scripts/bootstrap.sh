#!/usr/bin/env bash
# Creates ./.venv with boo installed (editable) and its pinned dependencies.
# Idempotent: re-installs only when pyproject.toml changed since the last successful run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.boo-installed"
want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3
echo "[boo] setting up $venv (first run installs torch and IREE; a few minutes)" >&2
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
# torch first and pinned on its own: an unpinned resolve would pull CUDA wheels.
"$venv/bin/python" -m pip install -q --disable-pip-version-check torch==2.13.0
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$root[test]"
echo "$want" > "$stamp"
