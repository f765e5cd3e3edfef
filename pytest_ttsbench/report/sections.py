"""Which table of the results doc a result belongs to, and what each table shows.

The headline table compares models: one row per model + backend + hardware (+ variant),
fed only by the latency suite on :data:`HEADLINE_PROMPT`, in the engine's default
streaming mode, with no swept params. Every other result (other suites, other prompts,
other modes, knobs) goes to its suite's section, keyed the same way plus prompt, mode
and params, with the columns that suite measures. A user's own test file is a suite of
its own (its module name without ``test_``), so users' tests never feed the headline
unless they live in a ``test_latency.py``. Pure: no I/O, no pytest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import table as tb

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pytest_ttsbench.results.model import BenchResult

HEADLINE_PROMPT = "medium"  # the one prompt the headline table compares models on
HEADLINE_SUITE = "latency"
RESULTS = "results"  # the headline block's name (its markers predate the sections)
HISTORY = "history"
SUITE_BLOCK = "suite."
HISTORY_BLOCK = "history."

HEADLINE_KEY = ("model", "backend", "hardware")
SECTION_KEY = (*HEADLINE_KEY, "prompt", "mode", "params")
_TAIL = ("n", "gates", "date", "versions", "plugin")
HEADLINE_COLUMNS = (
    "model",
    "backend",
    "hardware",
    "mode",
    "prompt",
    "ttfa_p50",
    "ttfa_p95",
    "latency_p50",
    "rtf_p50",
    "peak_rss",
    "accel_peak",
    "load",
    *_TAIL,
)
_LATENCY = ("ttfa_p50", "ttfa_p95", "latency_p50", "rtf_p50", "peak_rss", "accel_peak", "load")

# suite: (title, what its columns say, its metric columns)
_SUITES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "latency": (
        "Latency: other prompts and settings",
        "The latency suite on prompts other than the headline's, in another streaming "
        "mode, or with knobs set.",
        _LATENCY,
    ),
    "streaming": (
        "Streaming",
        "When chunks arrive and whether a player fed in real time runs dry: chunk gaps, "
        "stalls with no prebuffer, and the smallest prebuffer that gives none.",
        ("ttfa_p50", "gap_p95", "gap_max", "stalls", "min_prebuffer", "rtf_p50"),
    ),
    "concurrency": (
        "Concurrency",
        "Requests at once against one loaded engine (concurrency=K) or Poisson arrivals "
        "at a fraction of what one request at a time sustains (load=): throughput in "
        "audio seconds per wall second, and latency under load from each request's "
        "scheduled start.",
        ("throughput", "load_speedup", "ttfa_p50", "ttfa_p95", "latency_p50", "latency_p95"),
    ),
    "memory": (
        "Memory",
        "Process memory over the trials: peak RSS, accelerator peak (n/a where the "
        "framework does not expose it), growth from the first to the last trial and the "
        "RSS slope per run (the leak check).",
        ("peak_rss", "accel_peak", "rss_growth", "rss_slope", "latency_p50"),
    ),
    "cold_start": (
        "Cold start",
        "A fresh Python process per run, medians over the runs: interpreter start, "
        "import, model load, and spawn to first audio (what a serverless scale-up pays).",
        ("spawn_audio", "interpreter_s", "import_s", "fresh_load_s"),
    ),
    "quality": (
        "Audio quality",
        "Integrated loudness (BS.1770), true peak, speaking rate and audio length.",
        ("lufs", "true_peak", "chars_per_s", "audio_s"),
    ),
    "caching": (
        "Caching",
        "One prompt repeated versus unique prompts: an engine that caches answers "
        f"repeats faster (over x{col.CACHE_SPEEDUP_LIMIT}: caches), and benchmarks that "
        "repeat a prompt overstate its speed.",
        ("unique_rtf", "repeated_rtf", "cache_speedup", "cache_verdict"),
    ),
    "sweeps": (
        "Sweeps",
        "One row per knob value (Params).",
        ("ttfa_p50", "ttfa_p95", "latency_p50", "rtf_p50", "audio_s", "chars_per_s"),
    ),
    "soak": (
        "Soak",
        "A long run: latency spread over many syntheses and the RSS slope per run.",
        ("latency_p50", "latency_p95", "latency_max", "rss_slope", "peak_rss"),
    ),
}
SUITE_ORDER = tuple(_SUITES)


@dataclass(frozen=True)
class Section:
    """One managed table of the doc: the headline (suite "") or a suite's section."""

    suite: str
    title: str
    intro: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def headline(self) -> bool:
        return not self.suite

    @property
    def block(self) -> str:
        return RESULTS if self.headline else SUITE_BLOCK + self.suite

    @property
    def history_block(self) -> str:
        return HISTORY if self.headline else HISTORY_BLOCK + self.suite

    @property
    def label(self) -> str:
        """How warnings and summaries name the table."""
        return RESULTS if self.headline else self.suite

    @property
    def order(self) -> tuple[int, str]:
        """Where the section goes among new ones: the shipped suites first."""
        if self.headline:
            return (-1, "")
        known = SUITE_ORDER.index(self.suite) if self.suite in _SUITES else len(SUITE_ORDER)
        return (known, self.suite)


HEADLINE = Section("", "Headline", "", HEADLINE_COLUMNS, HEADLINE_KEY)


def suite_slug(suite: str) -> str:
    """A suite's name as block markers spell it: lower case, [a-z0-9_-]."""
    return re.sub(r"[^a-z0-9_-]+", "-", suite.casefold()).strip("-") or "custom"


def suite_section(suite: str) -> Section:
    slug = suite_slug(suite)
    title, intro, metrics = _SUITES.get(
        slug,
        (
            f"Suite {slug}",
            f"Results of the tests in test_{slug}.py (a suite of your own).",
            _LATENCY,
        ),
    )
    return Section(slug, title, intro, (*SECTION_KEY, *metrics, *_TAIL), SECTION_KEY)


def section_for_block(name: str) -> Section | None:
    """The section a block or history block name belongs to."""
    if name in (RESULTS, HISTORY):
        return HEADLINE
    for prefix in (SUITE_BLOCK, HISTORY_BLOCK):
        if name.startswith(prefix):
            return suite_section(name[len(prefix) :])
    return None


def default_mode(result: BenchResult) -> str | None:
    """The streaming mode the engine runs in when nobody asks (``--tts-stream=auto``):
    native where it streams, else one chunk. None: the result does not say."""
    caps = result.details.get("capabilities")
    if isinstance(caps, dict) and "stream" in caps:
        return "native" if caps["stream"] else "none"
    return None


def is_headline(result: BenchResult) -> bool:
    default = default_mode(result)
    return (
        result.suite == HEADLINE_SUITE
        and result.prompt == HEADLINE_PROMPT
        and not result.params
        and (default is None or result.stream_mode == default)
    )


def section_for(result: BenchResult) -> Section:
    return HEADLINE if is_headline(result) else suite_section(result.suite)


def key_of(section: Section, values: Mapping[str, str]) -> tb.Key:
    """A row's key from its raw cells by column id."""
    return tuple(tb.cell_key(values.get(cid, "")) for cid in section.key)


def entry_key(section: Section, entry: tb.Entry) -> tb.Key:
    """The key ``entry``'s row reads back with."""
    return key_of(section, col.cells_for(entry, section.key))


def select(entries: Iterable[tb.Entry]) -> dict[Section, list[tb.Entry]]:
    """The entries of each section, one per key, sorted by key; sections in doc order.

    When a run has several results for one key, a result that did not fail wins, then
    the newest session, then the first given."""
    ordered = sorted(entries, key=lambda e: e.created, reverse=True)
    ordered.sort(key=lambda e: e.failed)  # stable: newest first within each group
    best: dict[Section, dict[tb.Key, tb.Entry]] = {}
    for entry in ordered:
        section = section_for(entry.result)
        best.setdefault(section, {}).setdefault(entry_key(section, entry), entry)
    return {
        s: [best[s][k] for k in sorted(best[s], key=tb.sort_key)]
        for s in sorted(best, key=lambda s: s.order)
    }


# ---- rows written before the sections existed ---------------------------------------------
_SUITE_SUFFIX = re.compile(r"^(.*\S)\s+\(([A-Za-z0-9_.-]+)\)$")
_TAGS = re.compile(r"^(.*\S)\s+\(([^()]*)\)$")


def split_model_tags(model: str) -> tuple[str, str]:
    """``kokoro (fp32, speed=0.8)`` -> (``kokoro (fp32)``, ``speed=0.8``): the old model
    cell carried the variant and the params; ``k=v`` tags are params."""
    match = _TAGS.match(model)
    if not match:
        return model, ""
    tags = [t.strip() for t in match.group(2).split(",") if t.strip()]
    params = [t for t in tags if "=" in t]
    variant = [t for t in tags if "=" not in t]
    base = match.group(1)
    return (f"{base} ({', '.join(variant)})" if variant else base), ", ".join(params)


def _parsed(tags: str) -> dict[str, object]:
    """``speed=1.0, check=leak`` as params, numbers as numbers, so the cell reads as a
    new run's would (``speed=1``)."""
    out: dict[str, object] = {}
    for tag in tags.split(","):
        name, _, value = tag.strip().partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            out[name] = value
    return out


def legacy_home(values: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    """For a row of a headline table written before the sections: its suite and the
    section's key cells when it is no headline row; None when it stays (or cannot tell:
    no Prompt cell). The old Prompt cell read ``short (concurrency)`` for other suites."""
    prompt = tb.cell_key(values.get("prompt", ""))
    if not prompt:
        return None
    suite = HEADLINE_SUITE
    match = _SUITE_SUFFIX.match(prompt)
    if match:
        prompt, suite = match.group(1), match.group(2)
    model, tags = split_model_tags(tb.cell_key(values.get("model", "")))
    params = col.params_cell(_parsed(tags)) if tags else ""
    if suite == HEADLINE_SUITE and prompt == HEADLINE_PROMPT and not params:
        return None
    return suite_slug(suite), {
        "model": tb.escape_cell(model) or "?",
        "prompt": tb.escape_cell(prompt),
        "params": tb.escape_cell(params) or col.NO_PARAMS,
        "mode": values.get("mode", "") or "?",
    }
