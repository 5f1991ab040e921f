#!/usr/bin/env bash
# Run the test suite with what it needs: a virtual X display and the JACK dummy audio driver.
set -uo pipefail
cd "$(dirname "$0")/.."
started=()
if [ -z "${DISPLAY:-}" ] && command -v Xvfb >/dev/null; then
  Xvfb :97 -screen 0 1600x1000x24 -nolisten tcp >/tmp/codec-explorer-xvfb.log 2>&1 &
  started+=($!)
  export DISPLAY=:97
fi
if ! pgrep -x jackd >/dev/null && command -v jackd >/dev/null; then
  JACK_NO_AUDIO_RESERVATION=1 jackd --no-realtime -d dummy -r 48000 >/tmp/codec-explorer-jackd.log 2>&1 &
  started+=($!)
fi
if command -v jack_lsp >/dev/null; then
  for _ in $(seq 100); do jack_lsp >/dev/null 2>&1 && break; sleep 0.1; done
  jack_lsp >/dev/null 2>&1 || echo "test.sh: warning: the JACK dummy driver did not start; audio tests will be skipped" >&2
fi
cleanup() { for pid in "${started[@]}"; do kill "$pid" 2>/dev/null; done; }
trap cleanup EXIT
.venv/bin/python -m pytest "$@"
