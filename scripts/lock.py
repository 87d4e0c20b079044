"""Digests of the lock files' inputs, stamped into each lock's header by `make lock`.

    python3 scripts/lock.py stamp    # after pip-compile: write the digests into the locks
    python3 scripts/lock.py check    # exit 1 when a lock's digest no longer matches its input

requirements.lock is compiled from pyproject.toml (dependencies, the dev extra, build-system
requires); requirements-bootstrap.txt from requirements-bootstrap.in (pip and setuptools). The
digest is taken over the parsed requirement lists, so reformatting or commenting pyproject.toml
does not make the lock stale, but adding, removing or re-ranging a dependency does.
tests/unit/test_lock.py runs the same check, and checks the pins against the ranges.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
BOOTSTRAP_IN = ROOT / "requirements-bootstrap.in"
BOOTSTRAP_LOCK = ROOT / "requirements-bootstrap.txt"
RELOCK = "make lock"
_STAMP = re.compile(r"^# input-digest: sha256:([0-9a-f]{64}).*\n?", re.M)


def pyproject_inputs(path: Path = PYPROJECT) -> dict[str, Any]:
    data = tomllib.loads(path.read_text())
    project = data["project"]
    return {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "build-system": data.get("build-system", {}).get("requires", []),
    }


def requirements_in(path: Path = BOOTSTRAP_IN) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def digest(inputs: object) -> str:
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def pairs() -> list[tuple[Path, str]]:
    """(lock file, digest its header must carry)."""
    return [
        (LOCK, digest(pyproject_inputs())),
        (BOOTSTRAP_LOCK, digest(requirements_in())),
    ]


def stamped(lock: Path) -> str | None:
    found = _STAMP.search(lock.read_text())
    return found.group(1) if found else None


def stamp(lock: Path, value: str) -> None:
    text = _STAMP.sub("", lock.read_text())
    lock.write_text(f"# input-digest: sha256:{value} (of its inputs; re-lock: `{RELOCK}`)\n{text}")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    stale = []
    for lock, value in pairs():
        if command == "stamp":
            stamp(lock, value)
        elif stamped(lock) != value:
            stale.append(lock.name)
    if stale:
        names = ", ".join(stale)
        print(f"stale: {names} (inputs changed since the last lock); re-lock: `{RELOCK}`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
