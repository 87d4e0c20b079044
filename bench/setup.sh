#!/usr/bin/env bash
# Tools the benchmarks use: wrk (HTTP load, from Debian) and py-spy/pyinstrument (profiling).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
make -s .venv/.installed
.venv/bin/pip install -q py-spy pyinstrument
