#!/usr/bin/env bash
# The engine on one device, without Qt (benchmarks/device_check.py): one table.
#   benchmarks/device_check.sh --device cpu      here
#   benchmarks/device_check.sh --device cuda     on a GPU machine (Python 3.12, torch, no network, no Qt):
# the codec packages travel beside it as wheels in .whl/ (installed with --no-deps; see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
export PYTHONPATH=".:benchmarks:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
exec "$PY" benchmarks/device_check.py "$@"
