"""measure/: metric definitions on hand-made timelines, stamping and planning, no engines."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pytest_ttsbench.measure import engine_thread, planning, stamps
from pytest_ttsbench.measure import trial as measure

SR = 1000  # 1 sample = 1 ms keeps the arithmetic readable


def ms(*values: float) -> list[int]:
    return [int(v * 1e6) for v in values]


def test_trial_metrics_by_hand() -> None:
    # chunks at 100, 300, 350 ms carrying 200, 100, 300 ms of audio
    m = measure.trial_metrics(ms(100, 300, 350), [200, 100, 300], [False, True, True], SR)
    assert m["ttfa_ms"] == 100
    assert m["ttfa_audible_ms"] == 300
    assert m["first_chunk_s"] == 0.2
    assert m["latency_ms"] == 350
    assert m["audio_s"] == 0.6
    assert m["rtf"] == pytest.approx(0.35 / 0.6)
    assert m["rtfx"] == pytest.approx(0.6 / 0.35)
    assert m["samples_per_s"] == pytest.approx(600 / 0.35)
    assert m["gap_max_ms"] == 200
    # playback 100..300 then chunk 2 arrives at 300: no stall; 300..400 ok; no stalls
    assert m["stalls"] == 0
    assert m["min_prebuffer_ms"] == 0


def test_empty_chunks_do_not_count_as_first_audio() -> None:
    m = measure.trial_metrics(ms(5, 50), [0, 100], [False, True], SR)
    assert m["ttfa_ms"] == 50
    assert m["first_chunk_s"] == 0.1


def test_underrun_counts_each_dry_spell() -> None:
    # 100 ms chunks arriving every 150 ms: dry 50 ms before chunks 2 and 3
    arrivals = [0.0, 150.0, 300.0]
    durations = [100.0, 100.0, 100.0]
    stalls, stalled_ms = measure.underrun(arrivals, durations)
    assert stalls == 2
    assert stalled_ms == pytest.approx(100.0)
    need = measure.min_prebuffer(arrivals, durations)
    assert need == pytest.approx(100.0)  # chunk 3 at 300 ms, 200 ms of audio before it
    assert measure.underrun(arrivals, durations, prebuffer_ms=need) == (0, 0.0)
    assert measure.underrun(arrivals, durations, prebuffer_ms=need - 0.01)[0] > 0


def test_stall_metrics_by_hand() -> None:
    # the same timeline through trial_metrics: stall seconds, prebuffer in ms
    m = measure.trial_metrics(ms(100, 250, 400), [100, 100, 100], [True] * 3, SR)
    assert m["stalls"] == 2
    assert m["stall_s"] == pytest.approx(0.1)
    assert m["min_prebuffer_ms"] == pytest.approx(100.0)
    assert measure.playback(ms(5, 100), [0, 50], SR) == ([100.0], [50.0])  # empty: no audio


def test_one_chunk_ttfa_is_latency_exactly() -> None:
    # the old latency formula (ns / 1e9 * 1e3) rounded twice: 702.8472099999999
    m = measure.trial_metrics([702_847_210], [24000], [True], 24000)
    assert m["ttfa_ms"] == m["latency_ms"] == 702.84721
    assert m["gap_max_ms"] == 0.0


def test_as_audio_rejects_what_is_not_host_audio() -> None:
    with pytest.raises(TypeError, match="not a numpy array"):
        stamps.as_audio([0.0, 1.0], 0)
    with pytest.raises(TypeError, match="mono"):
        stamps.as_audio(np.zeros((2, 10)), 3)
    assert stamps.as_audio(np.zeros((1, 10), dtype=np.float64), 0).dtype == np.float32


def test_capture_stamps_every_chunk_in_order() -> None:
    captured = stamps.capture(lambda: iter([np.ones(5), np.ones(3)]))
    assert len(captured.chunk_ns) == 2
    assert captured.chunk_ns[0] <= captured.chunk_ns[1]
    assert [len(c) for c in captured.chunks] == [5, 3]


def test_engine_thread_runs_on_one_thread_and_times_out() -> None:
    worker = engine_thread.EngineThread("t")
    names = {worker.call(lambda: threading.current_thread().name) for _ in range(3)}
    assert names == {"ttsbench-t"}
    with pytest.raises(ValueError, match="boom"):
        worker.call(lambda: (_ for _ in ()).throw(ValueError("boom")))
    gate = threading.Event()
    with pytest.raises(engine_thread.TrialHung):
        worker.call(gate.wait, timeout_s=0.05)
    with pytest.raises(engine_thread.TrialHung, match="abandoned"):
        worker.call(lambda: 1)
    gate.set()


def test_adaptive_plan_stops_when_precise() -> None:
    latencies: list[float] = []

    def run(i: int) -> None:
        latencies.append(100.0)

    planning.run_planned(
        planning.TrialPlan(trials=3, adaptive=True, max_trials=50), lambda: latencies, run
    )
    assert len(latencies) == 6  # 6 equal values: the median CI has zero width


def test_adaptive_plan_respects_cap_and_budget() -> None:
    latencies: list[float] = []
    rng = np.random.default_rng(0)

    def run(i: int) -> None:
        latencies.append(float(rng.uniform(10, 1000)))

    planning.run_planned(
        planning.TrialPlan(trials=3, adaptive=True, max_trials=12, precision=0.001),
        lambda: latencies,
        run,
    )
    assert len(latencies) == 12
    ticks = iter(range(100))
    latencies.clear()
    planning.run_planned(
        planning.TrialPlan(trials=2, adaptive=True, max_trials=99, precision=0.001, budget_s=5),
        lambda: latencies,
        run,
        clock=lambda: float(next(ticks)),
    )
    assert len(latencies) < 10
