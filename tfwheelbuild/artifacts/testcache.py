"""Runtime-test results kept by content: the same wheel bytes, in the same runtime image, under the
same test, pass the same way, so a rebuild that reproduces a tested wheel byte for byte does not
install and smoke-test it again (as Bazel caches a test whose inputs did not change).

The key is the wheel's sha256, the runtime image id and everything the test runs (Python,
expected version, index, the user's test command). `build --retest` runs the test regardless.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfwheelbuild.artifacts.manifest import atomic_write_bytes
from tfwheelbuild.errors import TfwbError


@dataclass(frozen=True, kw_only=True)
class RuntimeTestInputs:
    wheel_sha256: str
    runtime_image_id: str
    python: str
    expected_version: str
    index_url: str
    test_command: str

    def key(self) -> str:
        text = json.dumps(self.__dict__, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def lookup(root: Path, inputs: RuntimeTestInputs) -> dict[str, Any] | None:
    """The recorded pass for exactly these inputs, or None."""
    path = _path(root, inputs)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("inputs") == inputs.__dict__ else None


def record_pass(root: Path, inputs: RuntimeTestInputs, facts: dict[str, Any]) -> None:
    """Best effort: a result that cannot be kept only costs a later rerun of the test."""
    record = {"inputs": inputs.__dict__, "passed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "facts": facts}
    # OutputError, DiskFullError: the build itself has succeeded either way.
    with contextlib.suppress(TfwbError):
        atomic_write_bytes(_path(root, inputs), json.dumps(record, indent=1, sort_keys=True).encode())


def _path(root: Path, inputs: RuntimeTestInputs) -> Path:
    return root / "test-results" / f"{inputs.key()}.json"
