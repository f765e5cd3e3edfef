"""Releases say what changed: the version follows semantic versioning of the public API,
and docs/CHANGELOG.md names every change of it, with how to migrate.

The public API, for this test: the names of ``pytest_ttsbench.__all__``, the options
(flag, ini key, environment variable) and the results JSON's ``SCHEMA_VERSION``.
tests/golden/public_api.json holds it for each release the changelog lists. Change the
API and these tests fail until the top release's snapshot is updated and the
changelog's top entry names each name added, removed or changed (an option by its
flag, the schema as ``SCHEMA_VERSION``); a breaking change also needs the right version
bump (before 1.0: the minor).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pytest_ttsbench
from pytest_ttsbench.options import OPTIONS
from pytest_ttsbench.results.model import SCHEMA_VERSION
from pytest_ttsbench.version import __version__

ROOT = Path(__file__).resolve().parents[2]
CHANGELOG = ROOT / "docs" / "CHANGELOG.md"
SNAPSHOT = ROOT / "tests" / "golden" / "public_api.json"

Api = dict[str, Any]  # {"names": [...], "options": {flag: "ini ..., env ..."}, "schema": n}


def api_now() -> Api:
    """The public API of the code as it is."""
    return {
        "names": sorted(pytest_ttsbench.__all__),
        "options": {
            o.flag: f"ini {o.dest}, env {o.env or 'none'}"
            for o in sorted(OPTIONS, key=lambda o: o.flag)
        },
        "schema": SCHEMA_VERSION,
    }


def releases() -> dict[str, Api]:
    """The stored snapshots, newest first."""
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return dict(data["releases"])


# ---- the changelog ---------------------------------------------------------------------------
_HEADING = re.compile(r"^## \[?(\d+)\.(\d+)\.(\d+)\]?(.*)$")


@dataclass(frozen=True)
class Entry:
    version: str
    heading: str  # what follows the version: " - 2026-11-24", " - unreleased"
    text: str  # the entry's body

    @property
    def breaking(self) -> bool:
        """The entry has a section of breaking changes."""
        return bool(re.search(r"^### Breaking", self.text, re.MULTILINE))


def entries(text: str) -> list[Entry]:
    """The release entries (``## 0.3.0 - unreleased``), in the order written."""
    found: list[Entry] = []
    version, heading, body = "", "", []
    for line in [*text.splitlines(), "## 0.0.0 end"]:
        match = _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        if version:
            found.append(Entry(version, heading, "\n".join(body)))
        version, heading, body = ".".join(match.group(1, 2, 3)), match.group(4), []
    return found


# ---- what changed, and what the entry must say -----------------------------------------------
@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, changed
    name: str  # a public name, an option's flag, or SCHEMA_VERSION

    @property
    def breaking(self) -> bool:
        return self.kind != "added"

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def changes(old: Api, new: Api) -> list[Change]:
    """How the public API went from ``old`` to ``new``."""
    found = [Change("added", n) for n in sorted(set(new["names"]) - set(old["names"]))]
    found += [Change("removed", n) for n in sorted(set(old["names"]) - set(new["names"]))]
    before, after = old["options"], new["options"]
    found += [Change("added", f) for f in sorted(set(after) - set(before))]
    found += [Change("removed", f) for f in sorted(set(before) - set(after))]
    found += [
        Change("changed", f) for f in sorted(set(before) & set(after)) if before[f] != after[f]
    ]
    if old["schema"] != new["schema"]:
        found.append(Change("changed", "SCHEMA_VERSION"))
    return found


def mentioned(name: str, text: str) -> bool:
    """``name`` appears in ``text`` as a word of its own (``Target``, not ``Targets``)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def unmentioned(old: Api, new: Api, entry: Entry) -> list[str]:
    """The changes from ``old`` to ``new`` that ``entry`` does not name."""
    return [str(c) for c in changes(old, new) if not mentioned(c.name, entry.text)]


def _parts(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(x) for x in version.split("."))
    return major, minor, patch


def bump(old: str, new: str) -> str | None:
    """Which semver bump ``old`` -> ``new`` is: major, minor, patch; None: none of them."""
    a, b = _parts(old), _parts(new)
    if b == (a[0] + 1, 0, 0):
        return "major"
    if b == (a[0], a[1] + 1, 0):
        return "minor"
    if b == (a[0], a[1], a[2] + 1):
        return "patch"
    return None


def required_bump(old: str, found: list[Change], breaking_entry: bool) -> str:
    """The least bump semver asks for: a breaking change the major (before 1.0: the
    minor), an addition the minor (before 1.0: the patch), anything else the patch."""
    stable = _parts(old)[0] >= 1
    if breaking_entry or any(c.breaking for c in found):
        return "major" if stable else "minor"
    if found:
        return "minor" if stable else "patch"
    return "patch"


RANK = {"patch": 0, "minor": 1, "major": 2}


# ---- the checks ------------------------------------------------------------------------------
def test_the_public_api_is_the_snapshot_of_the_newest_release() -> None:
    """TTSBENCH_UPDATE_GOLDEN=1 writes the code's API as the newest release's snapshot;
    the changelog's entry must then name each change (the test below)."""
    newest, api = next(iter(releases().items()))
    if os.environ.get("TTSBENCH_UPDATE_GOLDEN") == "1":
        data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
        data["releases"][newest] = api = api_now()
        SNAPSHOT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    found = changes(api, api_now())
    assert not found, (
        f"the public API changed since the snapshot of {newest}: {', '.join(map(str, found))}. "
        f"Name each in the top entry of {CHANGELOG.relative_to(ROOT)} (a new release if "
        f"{newest} is released: bump pytest_ttsbench/version.py as semver asks and add its "
        f"snapshot), then update the snapshot in {SNAPSHOT.relative_to(ROOT)} "
        "(TTSBENCH_UPDATE_GOLDEN=1 writes it)."
    )


def test_the_changelog_lists_every_release_newest_first() -> None:
    listed = [e.version for e in entries(CHANGELOG.read_text(encoding="utf-8"))]
    assert listed == list(releases())
    assert listed == sorted(listed, key=_parts, reverse=True)
    assert listed[0] == __version__  # the package says the version the changelog tops


def test_each_release_names_every_change_of_the_public_api_and_bumps_as_semver_asks() -> None:
    by_version = {e.version: e for e in entries(CHANGELOG.read_text(encoding="utf-8"))}
    snapshots = list(releases().items())
    for (new, new_api), (old, old_api) in itertools.pairwise(snapshots):
        entry = by_version[new]
        assert unmentioned(old_api, new_api, entry) == [], f"{new} does not name these"
        found = changes(old_api, new_api)
        need = required_bump(old, found, entry.breaking)
        done = bump(old, new)
        assert done is not None, f"{old} -> {new} is no semver step"
        assert RANK[done] >= RANK[need], f"{old} -> {new} is a {done} bump; {need} is needed"


def test_only_the_newest_release_may_be_unreleased() -> None:
    found = entries(CHANGELOG.read_text(encoding="utf-8"))
    assert all(re.search(r"\d{4}-\d\d-\d\d", e.heading) for e in found[1:])
    assert all(e.text.strip() for e in found)


# ---- the checks catch what they are for ----------------------------------------------------
OLD: Api = {
    "names": ["Engine", "__version__"],
    "options": {"--tts-x": "ini tts_x, env none"},
    "schema": 1,
}


@pytest.mark.parametrize(
    ("new", "text", "missing"),
    [
        ({**OLD, "names": ["Engine", "Target", "__version__"]}, "Nothing here.", ["added Target"]),
        ({**OLD, "names": ["Engine", "Target", "__version__"]}, "New: `Target`.", []),
        (
            {**OLD, "names": ["Engine", "Target", "__version__"]},
            "New: `Targets`.",
            ["added Target"],
        ),
        ({**OLD, "names": ["__version__"]}, "Gone.", ["removed Engine"]),
        ({**OLD, "options": {}}, "`--tts-x` is gone.", []),
        (
            {**OLD, "options": {"--tts-x": "ini tts_x, env TTSBENCH_X"}},
            "An env var.",
            ["changed --tts-x"],
        ),
        ({**OLD, "schema": 2}, "New files.", ["changed SCHEMA_VERSION"]),
    ],
)
def test_an_api_change_the_entry_does_not_name_is_caught(
    new: Api, text: str, missing: list[str]
) -> None:
    assert unmentioned(OLD, new, Entry("9.9.9", "", text)) == missing


@pytest.mark.parametrize(
    ("old", "new", "found", "breaking", "ok"),
    [
        ("0.2.0", "0.3.0", [], True, True),  # breaking before 1.0: the minor
        ("0.2.0", "0.2.1", [], True, False),
        ("0.2.0", "0.2.1", [Change("removed", "Engine")], False, False),
        ("0.2.0", "0.2.1", [Change("added", "Target")], False, True),
        ("1.2.0", "1.3.0", [Change("removed", "Engine")], False, False),  # 1.x: the major
        ("1.2.0", "2.0.0", [Change("removed", "Engine")], False, True),
        ("1.2.0", "1.2.1", [Change("added", "Target")], False, False),
        ("0.2.0", "0.4.0", [], False, False),  # no semver step
    ],
)
def test_the_bump_semver_asks_for(
    old: str, new: str, found: list[Change], breaking: bool, ok: bool
) -> None:
    done = bump(old, new)
    assert (done is not None and RANK[done] >= RANK[required_bump(old, found, breaking)]) == ok
