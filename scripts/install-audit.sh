#!/usr/bin/env bash
# Node and the pinned graphql-http audit suite (tests/audit/) for
# tests/e2e/test_graphql_http_audit.py. Node and npm come from Debian when missing; the
# audit's packages from the npm registry with `npm ci` (package-lock.json pins them).
# `make test` runs this first; it does nothing when both are already there. Without root
# it only warns outside CI, where the audit test then skips; under CI=true it is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/debian.sh
source scripts/debian.sh

give_up() {
    echo "install-audit: $1" >&2
    if [ "${CI:-}" = "true" ]; then
        exit 1
    fi
    echo "install-audit: the graphql-http audit will be skipped" >&2
    exit 0
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install-audit: installing Debian's nodejs and npm" >&2
    debian_install "node and npm are" nodejs npm
fi

if [ ! -f tests/audit/node_modules/graphql-http/package.json ]; then
    (cd tests/audit && npm ci --no-audit --no-fund) || give_up "npm ci in tests/audit failed"
fi
