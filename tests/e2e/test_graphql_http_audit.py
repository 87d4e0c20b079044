"""The GraphQL-over-HTTP spec's own audit suite (graphql-http, pinned in tests/audit/)
against a real server: every audit passes, with no warning and no notice."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.servers import first_key, free_port, sqlite_url, start, stop, wait_healthy

pytestmark = pytest.mark.e2e

AUDIT = Path(__file__).parent.parent / "audit"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if IN_CI:
            pytest.fail(f"CI=true but {name} is not installed: the graphql-http audit must run")
        pytest.skip(f"{name} not installed; graphql-http audit skipped")
    return found


@pytest.fixture(scope="session")
def audit_script() -> Path:
    """tests/audit/audit.mjs, with the pinned packages installed (npm ci) when missing."""
    npm = tool("npm")
    if not (AUDIT / "node_modules" / "graphql-http" / "package.json").is_file():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AUDIT, check=True, timeout=300)
    return AUDIT / "audit.mjs"


def test_the_graphql_over_http_audit_passes_without_warnings(tmp_path, audit_script):
    port = free_port()
    server = start(sqlite_url(tmp_path / "audit.db"), port)
    try:
        key = first_key(server)
        wait_healthy(port, server)
        ran = subprocess.run(
            [tool("node"), str(audit_script), f"http://127.0.0.1:{port}/graphql", key],
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        stop(server)
    assert ran.returncode == 0, ran.stderr
    results = json.loads(ran.stdout)
    assert len(results) > 50, results  # the suite ran, not an empty list
    failed = [r for r in results if r["status"] != "ok"]
    assert failed == [], json.dumps(failed, indent=2)
