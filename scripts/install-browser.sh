#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/e2e/test_dashboard.py, driven by Playwright
# with executable_path=/usr/bin/chromium). Playwright's own browser download is never used.
# `make test` runs this first; it does nothing when /usr/bin/chromium is already there.
# Without root (or sudo) it only warns outside CI, where the browser tests then skip; under
# CI=true a browser that cannot be installed is an error.
set -euo pipefail
# shellcheck source=scripts/debian.sh
source "$(dirname "$0")/debian.sh"

CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

give_up() {
    echo "install-browser: $1" >&2
    if [ "${CI:-}" = "true" ]; then
        exit 1
    fi
    echo "install-browser: the browser tests will be skipped" >&2
    exit 0
}

echo "install-browser: installing Debian's chromium" >&2
debian_install "$CHROMIUM is" chromium
[ -x "$CHROMIUM" ] || give_up "chromium installed, but $CHROMIUM is not there"
"$CHROMIUM" --version >&2 || true
