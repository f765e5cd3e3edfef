"""Every metric the plugin measures, declared once: the entries of the registry
(:mod:`~pytest_ttsbench.results.metrics`). Adding a metric is adding an entry here.

Pure data: no pytest, no numpy, nothing from the rest of the package.
"""

from __future__ import annotations

from pytest_ttsbench.results.metric_entries_asr import INTELLIGIBILITY
from pytest_ttsbench.results.metric_entries_fidelity import FIDELITY
from pytest_ttsbench.results.metric_entries_load import LOAD_EXTRA
from pytest_ttsbench.results.metric_entries_stream import STREAM_QUALITY
from pytest_ttsbench.results.metric_types import TTFA_MS, DocColumn, Metric, TerminalColumn

_LATENCY_SECTIONS = ("headline", "latency", "concurrency", "sweeps")


ENTRIES: tuple[Metric, ...] = (
    # ---- per-trial series --------------------------------------------------------------
    Metric(
        TTFA_MS,
        "time to first audio: the first chunk with at least one sample, after t0",
        "ms",
        "lower",
        "series",
        columns=(
            DocColumn(
                "ttfa_p50",
                "TTFA p50 (ms)",
                "p50",
                aliases=("ttfa p50", "ttfa ms p50"),
                sections=(*_LATENCY_SECTIONS, "streaming", "fidelity"),
            ),
            DocColumn(
                "ttfa_p95",
                "TTFA p95 (ms)",
                "p95",
                aliases=("ttfa p95", "ttfa ms p95"),
                sections=_LATENCY_SECTIONS,
            ),
        ),
        terminal=(TerminalColumn("p50", "TTFA p50 ms"), TerminalColumn("p95", "TTFA p95 ms")),
        junit=("p50", "p95"),
        extra_info=("p50", "p95"),
        baseline=True,
        timing=True,
        default_stat="p50",
    ),
    Metric(
        "ttfa_audible_ms",
        "time to first audible audio: the first chunk above the silence floor",
        "ms",
        "lower",
        "series",
        timing=True,
    ),
    Metric("first_chunk_s", "audio seconds in the first chunk", "s", "none", "series"),
    Metric(
        "latency_ms",
        "end-to-end latency: the last chunk, after t0",
        "ms",
        "lower",
        "series",
        columns=(
            DocColumn(
                "latency_p50",
                "Latency p50 (ms)",
                "p50",
                aliases=("latency p50", "e2e p50 ms"),
                sections=(*_LATENCY_SECTIONS, "memory", "soak"),
            ),
            DocColumn(
                "latency_p95",
                "Latency p95 (ms)",
                "p95",
                aliases=("latency p95", "e2e p95 ms"),
                sections=("concurrency", "soak"),
            ),
            DocColumn("latency_max", "Latency max (ms)", "max", sections=("soak",)),
        ),
        terminal=(TerminalColumn("p50", "latency p50 ms"),),
        junit=("p50",),
        extra_info=("p50",),
        baseline=True,
        timing=True,
        default_stat="p50",
    ),
    Metric(
        "audio_s",
        "audio seconds: samples / sample rate",
        "s",
        "none",
        "series",
        columns=(
            DocColumn(
                "audio_s",
                "Audio p50 (s)",
                "p50",
                "s",
                aliases=("audio s",),
                sections=("quality", "sweeps"),
            ),
        ),
        extra_info=("p50",),
    ),
    Metric(
        "rtf",
        "real-time factor: latency / audio seconds",
        "",
        "lower",
        "series",
        columns=(
            DocColumn(
                "rtf_p50",
                "RTF p50 (lower is better)",
                "p50",
                "ratio",
                aliases=("rtf p50", "rtf"),
                sections=("headline", "latency", "streaming", "sweeps", "fidelity"),
            ),
        ),
        terminal=(TerminalColumn("p50", "RTF p50 (lower is better)", "ratio"),),
        junit=("p50",),
        extra_info=("p50",),
        baseline=True,
        timing=True,
        default_stat="p50",
    ),
    Metric(
        "rtfx",
        "inverse real-time factor: audio seconds / latency",
        "",
        "higher",
        "series",
        terminal=(TerminalColumn("p50", "RTFx (higher is better)", "ratio"),),
        extra_info=("p50",),
        timing=True,
    ),
    Metric("samples_per_s", "samples / latency", "", "higher", "series", timing=True),
    Metric("chunks", "chunks handed over", "", "none", "series"),
    Metric(
        "gap_max_ms",
        "the largest gap between consecutive chunks of a trial",
        "ms",
        "lower",
        "series",
        columns=(
            DocColumn(
                "gap_max",
                "Chunk gap max (ms)",
                "max",
                aliases=("gap max",),
                sections=("streaming",),
            ),
        ),
        timing=True,
    ),
    Metric(
        "stalls",
        "player underruns with no prebuffer",
        "",
        "lower",
        "series",
        columns=(
            DocColumn(
                "stalls", "Stalls (max)", "max", "0", aliases=("stalls",), sections=("streaming",)
            ),
        ),
        timing=True,
        aliases=(("underrun.stalls", "max"),),
    ),
    Metric(
        "stall_s",
        "seconds the player sat dry",
        "s",
        "lower",
        "series",
        timing=True,
        aliases=(("underrun.stall_s", "max"),),
    ),
    Metric(
        "min_prebuffer_ms",
        "the smallest prebuffer that gives no stall",
        "ms",
        "lower",
        "series",
        columns=(
            DocColumn(
                "min_prebuffer",
                "Min prebuffer (ms)",
                "max",
                aliases=("prebuffer ms", "min prebuffer"),
                sections=("streaming",),
            ),
        ),
        timing=True,
        aliases=(("underrun.min_prebuffer_ms", "max"),),
    ),
    *STREAM_QUALITY,  # seams (metric_entries_stream.py)
    Metric(
        "lufs",
        "integrated loudness (BS.1770)",
        "LUFS",
        "none",
        "series",
        columns=(
            DocColumn(
                "lufs", "Loudness p50 (LUFS)", "p50", "1", aliases=("lufs",), sections=("quality",)
            ),
        ),
        default_stat="p50",
    ),
    Metric(
        "true_peak_dbtp",
        "true peak, 4x oversampled",
        "dBTP",
        "lower",
        "series",
        columns=(
            DocColumn(
                "true_peak",
                "True peak max (dBTP)",
                "max",
                "2",
                aliases=("true peak",),
                sections=("quality",),
            ),
        ),
        default_stat="max",
    ),
    Metric("peak_dbfs", "sample peak", "dBFS", "lower", "series"),
    Metric(
        "silence_ratio", "fraction of 10 ms frames below the silence floor", "", "lower", "series"
    ),
    Metric("clipping_fraction", "fraction of samples at full scale", "", "lower", "series"),
    Metric(
        "chars_per_s",
        "speaking rate: text characters per audio second",
        "",
        "none",
        "series",
        columns=(
            DocColumn(
                "chars_per_s",
                "Chars per s p50",
                "p50",
                "1",
                aliases=("chars s", "chars per s"),
                sections=("quality", "sweeps"),
            ),
        ),
    ),
    *INTELLIGIBILITY,  # cer, wer (metric_entries_asr.py)
    # ---- pooled over all measured trials ---------------------------------------------------
    Metric(
        "chunk_gap_ms",
        "every gap between consecutive chunks, pooled over the trials",
        "ms",
        "lower",
        "pooled",
        columns=(
            DocColumn(
                "gap_p95",
                "Chunk gap p95 (ms)",
                "p95",
                aliases=("gap p95",),
                sections=("streaming",),
            ),
        ),
        timing=True,
    ),
    # ---- one number per result -------------------------------------------------------------
    Metric(
        "load_s",
        "model load, once per target (cold)",
        "s",
        "lower",
        "scalar",
        columns=(
            DocColumn(
                "load",
                "Load (s)",
                fmt="s",
                aliases=("load s", "load time s"),
                sections=("headline", "latency"),
            ),
        ),
        junit=("",),
        extra_info=("",),
        timing=True,
    ),
    Metric(
        "cold_ttfa_ms",
        "the first trial after load, kept out of the warm statistics",
        "ms",
        "lower",
        "scalar",
        extra_info=("",),
        timing=True,
    ),
    Metric("cold_latency_ms", "the cold trial's latency", "ms", "lower", "scalar", timing=True),
    Metric(
        "peak_rss_mb",
        "process RSS peak while the trials ran (sampled)",
        "MB",
        "lower",
        "scalar",
        columns=(
            DocColumn(
                "peak_rss",
                "Peak RSS (MB)",
                fmt="mb",
                aliases=("rss mb", "peak rss"),
                sections=("headline", "latency", "memory", "soak"),
            ),
        ),
        terminal=(TerminalColumn("", "peak RSS MB", "mb"),),
        junit=("",),
        extra_info=("",),
    ),
    Metric(
        "rss_growth_mb",
        "RSS after the last trial minus after the first",
        "MB",
        "lower",
        "scalar",
        columns=(
            DocColumn(
                "rss_growth",
                "RSS growth (MB)",
                fmt="mb",
                aliases=("rss growth",),
                sections=("memory",),
            ),
        ),
    ),
    Metric(
        "accel_peak_mb",
        "accelerator memory peak over the trials, where the framework exposes it",
        "MB",
        "lower",
        "scalar",
        columns=(
            DocColumn(
                "accel_peak",
                "Accel peak (MB)",
                fmt="mb",
                aliases=("accel mb", "accelerator peak mb", "gpu mb"),
                sections=("headline", "latency", "memory"),
            ),
        ),
        terminal=(TerminalColumn("", "accel MB", "mb"),),
        junit=("",),
        extra_info=("",),
    ),
    Metric(
        "rss_slope_mb",
        "least-squares RSS growth per measured trial (the leak check)",
        "MB",
        "lower",
        "scalar",
        columns=(
            DocColumn(
                "rss_slope",
                "RSS slope (MB per run)",
                fmt="3",
                aliases=("rss slope",),
                sections=("memory", "soak"),
            ),
        ),
    ),
    # ---- from a benchmark shape's typed detail -----------------------------------------
    Metric(
        "throughput",
        "concurrent requests: audio seconds produced per wall second",
        "",
        "higher",
        "detail",
        source=("load", "throughput"),
        columns=(
            DocColumn(
                "throughput",
                "Throughput (audio s per s)",
                fmt="ratio",
                aliases=("throughput",),
                sections=("concurrency",),
            ),
        ),
        timing=True,
    ),
    Metric(
        "load_speedup",
        "concurrent throughput over one request at a time's",
        "",
        "higher",
        "detail",
        source=("load", "speedup"),
        columns=(
            DocColumn(
                "load_speedup",
                "Speedup vs 1 at a time",
                fmt="2",
                aliases=("speedup",),
                sections=("concurrency",),
            ),
        ),
        timing=True,
    ),
    *LOAD_EXTRA,  # goodput, good_rate, max_good_rate, cliff (metric_entries_load.py)
    Metric(
        "spawn_to_first_audio_ms",
        "cold start: process spawn to first audio, median over fresh processes",
        "ms",
        "lower",
        "detail",
        source=("cold_start", "spawn_to_first_audio_ms"),
        columns=(
            DocColumn(
                "spawn_audio",
                "Spawn to first audio p50 (ms)",
                aliases=("spawn to first audio",),
                sections=("cold_start",),
            ),
        ),
        timing=True,
    ),
    Metric(
        "interpreter_s",
        "cold start: spawn to the child's first line of Python, median",
        "s",
        "lower",
        "detail",
        source=("cold_start", "interpreter_s"),
        columns=(
            DocColumn("interpreter_s", "Interpreter p50 (s)", fmt="s", sections=("cold_start",)),
        ),
        timing=True,
    ),
    Metric(
        "import_s",
        "cold start: importing the adapter module, median",
        "s",
        "lower",
        "detail",
        source=("cold_start", "import_s"),
        columns=(DocColumn("import_s", "Import p50 (s)", fmt="s", sections=("cold_start",)),),
        timing=True,
    ),
    Metric(
        "fresh_load_s",
        "cold start: engine load in a fresh process, median",
        "s",
        "lower",
        "detail",
        source=("cold_start", "load_s"),
        columns=(
            DocColumn(
                "fresh_load_s", "Load in fresh process p50 (s)", fmt="s", sections=("cold_start",)
            ),
        ),
        timing=True,
    ),
    Metric(
        "unique_rtf",
        "cache check: RTF of unique prompts, median",
        "",
        "lower",
        "detail",
        source=("cache_check", "unique_rtf"),
        columns=(DocColumn("unique_rtf", "RTF unique p50", fmt="ratio", sections=("caching",)),),
        timing=True,
    ),
    Metric(
        "repeated_rtf",
        "cache check: RTF of the repeated prompt, median",
        "",
        "lower",
        "detail",
        source=("cache_check", "repeated_rtf"),
        columns=(
            DocColumn("repeated_rtf", "RTF repeated p50", fmt="ratio", sections=("caching",)),
        ),
        timing=True,
    ),
    Metric(
        "cache_speedup",
        "cache check: median unique RTF / median repeated RTF",
        "",
        "none",
        "detail",
        source=("cache_check", "speedup"),
        columns=(
            DocColumn("cache_speedup", "Repeated speedup (x)", fmt="2", sections=("caching",)),
        ),
    ),
    *FIDELITY,  # cer_delta, duration_ratio, spectral distances (metric_entries_fidelity.py)
)
