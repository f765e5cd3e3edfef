"""What the ASR heard, saved with the artifacts: ``transcripts-<stamp>.jsonl`` beside
the session's ``results-<stamp>.json``, one JSON object per scored measured trial.

The transcripts ride to the xdist controller inside each result's intelligibility
detail (``BenchResult.intelligibility.heard``); this writes them out. Pure: no pytest.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from pytest_ttsbench.results.model import BenchResult

LABEL = "transcripts"


def transcripts_name(results_name: str) -> str:
    """``results-<stamp>.json`` -> ``transcripts-<stamp>.jsonl``."""
    stem = results_name.removesuffix(".json")
    return stem.replace("results-", "transcripts-", 1) + ".jsonl"


def transcripts_jsonl(results: Sequence[BenchResult]) -> str:
    """One line per scored measured trial: the test, target, prompt, trial index, the
    prompt's text, what was heard, its CER and WER, and whether the trial was valid."""
    lines = []
    for result in results:
        check = result.intelligibility
        if check is None or not check.heard:
            continue
        trials = {t.index: t for t in result.measured}
        for heard in check.heard:
            trial = trials.get(heard.trial)
            row = {
                "test": result.test,
                "target": result.target.id,
                "prompt": result.prompt,
                "trial": heard.trial,
                "state": check.state,
                "text": check.text,
                "heard": heard.text,
                "cer": None if trial is None else trial.metrics.get("cer"),
                "wer": None if trial is None else trial.metrics.get("wer"),
                "valid": None if trial is None else trial.valid,
            }
            lines.append(json.dumps(row, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def write(
    write_file: Callable[[str, Path, str], bool],
    artifacts: Path,
    results_name: str,
    results: Sequence[BenchResult],
) -> None:
    """Write the session's transcripts with ``write_file(label, path, text)`` (the
    outputs' atomic writer, which records or rescues the file); nothing when no trial
    was scored."""
    text = transcripts_jsonl(results)
    if text:
        write_file(LABEL, artifacts / transcripts_name(results_name), text)
