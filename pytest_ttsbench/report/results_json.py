"""Writing results JSON files: a name claimed exclusively (no other session gets it),
written atomically."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.report.atomic import atomic_write_bytes, claim_path
from pytest_ttsbench.results.files import results_document

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_ttsbench.results.model import BenchResult


def write_results_json(
    path: Path,
    session: Mapping[str, Any],
    results: Sequence[BenchResult],
    *,
    with_trials: bool = True,
) -> Path:
    """Write the results file atomically (temp file + rename); returns ``path``."""
    text = results_json_text(session, results, with_trials=with_trials)
    return atomic_write_bytes(Path(path), text.encode("utf-8"))


def results_json_text(
    session: Mapping[str, Any],
    results: Sequence[BenchResult],
    *,
    with_trials: bool = True,
) -> str:
    """The results file's text."""
    doc = results_document(session, results, with_trials=with_trials)
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False, default=str) + "\n"


def results_json_name(now: datetime, host: str) -> str:
    """``results-20250131T120102Z-myhost.json``: sorts by time, says where it ran."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    safe_host = re.sub(r"[^A-Za-z0-9.-]+", "-", host).strip(".-")[:63] or "host"
    return f"results-{stamp}-{safe_host}.json"


def unique_results_path(folder: Path, now: datetime | None = None, host: str | None = None) -> Path:
    """Claim a results file name in ``folder`` (-2, -3... on clashes): the file is
    created empty and exclusively, so concurrent sessions with the same time and host
    each get their own; :func:`write_results_json` then replaces it atomically."""
    now = now or datetime.now(UTC)
    name = results_json_name(now, host or socket.gethostname())
    return claim_path(Path(folder), name.removesuffix(".json"), ".json")
