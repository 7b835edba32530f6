#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite on the CPU.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
cd "$root"
# Two workers, one test file each at a time: most of the suite waits on single-threaded
# iree-compile runs and daemon start-ups, so 2 cores finish it in about half the time (15 -> 7 min).
# BOO_TEST_WORKERS=0 runs it in one process.
workers="${BOO_TEST_WORKERS:-2}"
if [ "$workers" = "0" ]; then
  exec "$root/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
fi
exec "$root/.venv/bin/python" -m pytest -q -p no:cacheprovider -n "$workers" --dist loadfile "$@"
