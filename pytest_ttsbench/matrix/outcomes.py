"""What happened to each target, for the terminal: one line per target that ran, and
one line per skip reason (targets skipped for the same reason share a line), in place
of one SKIPPED line per test and target."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class _Target:
    counts: Counter[str] = field(default_factory=Counter)  # passed, failed, error, skipped
    skip_reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class TargetOutcomes:
    targets: dict[str, _Target] = field(default_factory=dict)

    def add(self, target: str, when: str, outcome: str, skip_reason: str | None) -> None:
        """One report phase of one test of ``target`` (setup, call, teardown)."""
        entry = self.targets.setdefault(target, _Target())
        if outcome == "skipped":
            entry.counts["skipped"] += 1
            entry.skip_reasons[_without_target(skip_reason or "skipped", target)] += 1
        elif outcome == "failed":
            entry.counts["failed" if when == "call" else "error"] += 1
        elif when == "call":
            entry.counts["passed"] += 1

    def lines(self) -> list[str]:
        ran: list[str] = []
        skipped: dict[str, list[str]] = {}
        for target in sorted(self.targets):
            entry = self.targets[target]
            if entry.counts.keys() <= {"skipped"}:
                reason = entry.skip_reasons.most_common(1)[0][0]
                skipped.setdefault(reason, []).append(target)
                continue
            counts = ", ".join(
                f"{entry.counts[k]} {k}"
                for k in ("passed", "failed", "error", "skipped")
                if entry.counts[k]
            )
            ran.append(f"ran      {target}: {counts}")
        grouped = [
            f"skipped  {', '.join(targets)}: {reason}"
            for reason, targets in sorted(skipped.items(), key=lambda kv: kv[1])
        ]
        return ran + grouped


def _without_target(reason: str, target: str) -> str:
    """Skip reasons start with their target id; strip it so equal reasons group."""
    return reason.removeprefix(f"{target}: ").strip()
