#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/e2e/test_dashboard.py, driven by Playwright
# with executable_path=/usr/bin/chromium). Playwright's own browser download is never used.
# `make test` runs this first; it does nothing when /usr/bin/chromium is already there.
# Without root (or sudo) it only warns outside CI, where the browser tests then skip; under
# CI=true a browser that cannot be installed is an error.
set -euo pipefail

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

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    give_up "$CHROMIUM is missing and installing it needs root: apt-get install chromium"
fi
command -v apt-get >/dev/null 2>&1 || give_up "$CHROMIUM is missing and there is no apt-get"

export DEBIAN_FRONTEND=noninteractive
install() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends chromium
}
echo "install-browser: installing Debian's chromium" >&2
# A fresh machine may have no package lists yet: update only when the first try fails.
install || { "${as_root[@]}" apt-get update -q && install; } || give_up "apt-get could not install chromium"
[ -x "$CHROMIUM" ] || give_up "chromium installed, but $CHROMIUM is not there"
"$CHROMIUM" --version >&2 || true
