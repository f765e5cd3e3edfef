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
from pytest_ttsbench.results import metrics

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
HEADLINE_LEAD = (*HEADLINE_KEY, "mode", "prompt")  # the headline's columns before metrics
_TAIL = ("n", "gates", "date", "versions", "plugin")
HEADLINE_SHOWS = "headline"  # the DocColumn.sections name of the headline table

# Which metric columns a table shows is the registry's (DocColumn.sections in
# results/metrics.py). What is kept here is only the order they show in: the hinted ids
# the registry lists for the table, in this order; then any column the registry lists
# for it that is not hinted, in registry order; then the hinted columns that are no
# metric (the caching table's verdict); then the tail.
_LATENCY = (
    "ttfa_p50",
    "ttfa_p95",
    "latency_p50",
    "rtf_p50",
    "cer_p50",
    "peak_rss",
    "accel_peak",
    "load",
)
HEADLINE_ORDER = _LATENCY

# suite: (title, what its columns say, the order of its columns)
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
        "stalls with no prebuffer, the smallest prebuffer that gives none, audible "
        "seams at chunk boundaries, and what each mode costs in intelligibility (CER).",
        ("ttfa_p50", "gap_p95", "gap_max", "stalls", "min_prebuffer", "seams_max", "rtf_p50"),
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
    "fidelity": (
        "Fidelity against a reference",
        "A prompt set through the configuration in the row and the reference its Params "
        "name: mean CER of each, their paired difference and the share of intelligibility "
        "lost (95% intervals over the prompts), the duration ratio, and for "
        "deterministic pairs how far the audio moved (log-mel L1, MCD, DTW penalty).",
        (
            "reference_cer",
            "candidate_cer",
            "cer_delta",
            "quality_loss",
            "duration_ratio",
            "log_mel_l1",
            "mcd_db",
            "dtw_penalty",
            "ttfa_p50",
            "rtf_p50",
        ),
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
CUSTOM_SHOWS = HEADLINE_SUITE  # a suite of the user's own shows the latency suite's columns


@metrics.per_registry
def _laid_out() -> dict[tuple[str, tuple[str, ...]], tuple[str, ...]]:
    return {}  # table_columns' answers, for the registry as it is


def table_columns(shows: str, order: tuple[str, ...]) -> tuple[str, ...]:
    """The columns between a table's key and its tail: the registry's metric columns
    listed for ``shows`` ("headline" or a suite), laid out by the ``order`` hint."""
    memo = _laid_out()
    found = memo.get((shows, order))
    if found is None:
        doc = metrics.doc_columns()
        listed = [c.id for _, c in doc if shows in c.sections]
        metric_ids = {c.id for _, c in doc}
        found = (
            *(cid for cid in order if cid in listed),
            *(cid for cid in listed if cid not in order),
            *(cid for cid in order if cid not in metric_ids),
        )
        memo[(shows, order)] = found
    return found


SUITE_ORDER = tuple(_SUITES)


@dataclass(frozen=True)
class Section:
    """One managed table of the doc: the headline (suite "") or a suite's section."""

    suite: str
    title: str
    intro: str
    key: tuple[str, ...]
    shows: str  # the DocColumn.sections name whose metric columns the table shows
    column_order: tuple[str, ...]  # the order they show in (see table_columns)

    @property
    def headline(self) -> bool:
        return not self.suite

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's column ids: the key, the metric columns, the tail."""
        lead = HEADLINE_LEAD if self.headline else self.key
        return (*lead, *table_columns(self.shows, self.column_order), *_TAIL)

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


HEADLINE = Section("", "Headline", "", HEADLINE_KEY, HEADLINE_SHOWS, HEADLINE_ORDER)


def suite_slug(suite: str) -> str:
    """A suite's name as block markers spell it: lower case, [a-z0-9_-]."""
    return re.sub(r"[^a-z0-9_-]+", "-", suite.casefold()).strip("-") or "custom"


def suite_section(suite: str) -> Section:
    slug = suite_slug(suite)
    if slug in _SUITES:
        title, intro, order = _SUITES[slug]
        return Section(slug, title, intro, SECTION_KEY, slug, order)
    shown = tb.escape_cell(slug)  # from the user's module name: "_x_" is no emphasis
    title = f"Suite {shown}"
    intro = f"Results of the tests in test_{shown}.py (a suite of your own)."
    return Section(slug, title, intro, SECTION_KEY, CUSTOM_SHOWS, _SUITES[CUSTOM_SHOWS][2])


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
