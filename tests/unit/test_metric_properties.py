"""Per-trial metrics as properties of random stamp sequences (docs/METRICS.md).

Every time metric comes from the same integer ``perf_counter_ns`` stamps through one
conversion, so the orderings of the stamps hold exactly in the metrics: first audio
never after the last chunk, one chunk means TTFA == latency to the last bit.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_ttsbench.measure import trial as measure
from pytest_ttsbench.results.stats import gaps_ms, ns_to_ms

# A trial of up to ~17 minutes, stamps anywhere on a clock that has run for ~100 days.
MAX_T0 = 2**53
MAX_SPAN_NS = 10**12
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


@st.composite
def trials(draw: st.DrawFn) -> tuple[list[int], list[int], list[bool], int]:
    """(chunk stamps relative to t0, samples per chunk, audible per chunk, sample rate),
    made the way ``stamps.capture`` makes them: absolute stamps minus an absolute t0."""
    t0 = draw(st.integers(0, MAX_T0))
    count = draw(st.integers(1, 12))
    offsets = sorted(draw(st.lists(st.integers(0, MAX_SPAN_NS), min_size=count, max_size=count)))
    chunk_ns = [(t0 + o) - t0 for o in offsets]
    samples = draw(
        st.lists(st.one_of(st.just(0), st.integers(1, 10**6)), min_size=count, max_size=count)
    )
    # an empty chunk is never audible; a non-empty one may be silent (the first, too)
    audible = [n > 0 and draw(st.booleans()) for n in samples]
    return chunk_ns, samples, audible, draw(st.sampled_from(SAMPLE_RATES))


def close(value: float) -> object:
    """Sums and products of once-rounded floats agree to a few ulps, not exactly."""
    return pytest.approx(value, rel=1e-12, abs=1e-9)


def one_chunk_trial(ns: int) -> dict[str, float | None]:
    return measure.trial_metrics([ns], [24000], [True], 24000)


def test_the_reported_counterexample() -> None:
    # the shipped latency suite failed with `assert 702.84721 <= 702.8472099999999`
    m = one_chunk_trial(702_847_210)
    assert m["ttfa_ms"] == m["latency_ms"] == m["ttfa_audible_ms"] == 702.84721


def test_one_chunk_ttfa_equals_latency_for_every_small_stamp() -> None:
    # about 1 in 8 integers differed by one rounding step under the old two formulas
    for ns in itertools.chain(range(0, 200_000, 7), range(702_847_000, 702_848_000)):
        m = one_chunk_trial(ns)
        assert m["ttfa_ms"] == m["latency_ms"], ns


@given(trials())
@settings(max_examples=400, deadline=None)
@example(([702_847_210], [24000], [True], 24000))
@example(([5, 50, 50], [0, 100, 0], [False, False, False], 1000))  # silent, empties around
def test_orderings_hold_exactly(trial: tuple[list[int], list[int], list[bool], int]) -> None:
    chunk_ns, samples, audible, sr = trial
    m = measure.trial_metrics(chunk_ns, samples, audible, sr)
    latency = m["latency_ms"]
    assert latency == ns_to_ms(chunk_ns[-1])
    ttfa, heard = m["ttfa_ms"], m["ttfa_audible_ms"]
    if ttfa is None:  # no chunk carried a sample
        assert sum(samples) == 0
        assert heard is None
        return
    assert latency is not None
    assert ttfa <= latency
    if heard is not None:
        assert ttfa <= heard <= latency
    first = next(k for k, n in enumerate(samples) if n > 0)
    if first == len(samples) - 1:  # one chunk (with audio) is all there is: exact
        assert ttfa == latency
    assert m["first_chunk_s"] == samples[first] / sr


@given(trials())
@settings(max_examples=300, deadline=None)
def test_gaps_sum_to_the_span_of_the_stamps(
    trial: tuple[list[int], list[int], list[bool], int],
) -> None:
    """Gaps are between consecutive chunk stamps, empty chunks included, so they sum to
    latency minus the first chunk's stamp (which is TTFA when that chunk has audio)."""
    chunk_ns, samples, audible, _ = trial
    m = measure.trial_metrics(chunk_ns, samples, audible, 16000)
    gaps = gaps_ms(chunk_ns)
    assert len(gaps) == len(chunk_ns) - 1
    assert all(g >= 0 for g in gaps)
    assert m["gap_max_ms"] == (max(gaps) if gaps else 0.0)
    # exact in integers; in ms each term rounds once (relative error 2**-53 each)
    assert sum(b - a for a, b in itertools.pairwise(chunk_ns)) == chunk_ns[-1] - chunk_ns[0]
    latency = m["latency_ms"]
    assert latency is not None
    span = latency - ns_to_ms(chunk_ns[0])
    assert math.fsum(gaps) == close(span)
    if samples[0] > 0:
        assert m["ttfa_ms"] == ns_to_ms(chunk_ns[0])


@given(trials())
@settings(max_examples=300, deadline=None)
def test_rates_are_consistent_with_latency(
    trial: tuple[list[int], list[int], list[bool], int],
) -> None:
    chunk_ns, samples, audible, sr = trial
    m = measure.trial_metrics(chunk_ns, samples, audible, sr)
    latency = m["latency_ms"]
    assert latency is not None
    audio_s, total = m["audio_s"], sum(samples)
    assert audio_s == total / sr
    rtf, rtfx, rate = m["rtf"], m["rtfx"], m["samples_per_s"]
    if total == 0:
        assert rtf is None
        assert rtfx is None
    else:
        assert audio_s is not None
        assert rtf is not None
        assert rtf * audio_s == close(latency / 1000)
        if latency > 0:
            assert rtfx is not None
            assert rtf * rtfx == close(1.0)
    if latency > 0:
        assert rate is not None
        assert rate * (latency / 1000) == close(total)
    else:
        assert rate is None


@given(trials())
@settings(max_examples=300, deadline=None)
def test_the_player_never_stalls_with_the_minimum_prebuffer(
    trial: tuple[list[int], list[int], list[bool], int],
) -> None:
    chunk_ns, samples, audible, sr = trial
    m = measure.trial_metrics(chunk_ns, samples, audible, sr)
    stalls, stall_s, need = m["stalls"], m["stall_s"], m["min_prebuffer_ms"]
    assert stalls is not None
    assert stall_s is not None
    assert need is not None
    assert stalls >= 0
    assert stall_s >= 0
    assert need >= 0
    assert (stalls == 0) == (stall_s == 0)
    arrivals, durations = measure.playback(chunk_ns, samples, sr)
    assert measure.underrun(arrivals, durations, prebuffer_ms=need) == (0, 0.0)
    if need == 0:
        assert stalls == 0
    if need > 1e-3:  # the minimum: a microsecond less stalls again
        assert measure.underrun(arrivals, durations, prebuffer_ms=need - 1e-3)[0] > 0
