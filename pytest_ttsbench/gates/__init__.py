"""Gates: pure logic (no pytest; the pytest side is ``pytest_ttsbench.gatekeeper``), one
concern a module, imported by full path (``from pytest_ttsbench.gates.files import
load_gates``):

- ``bounds``: the bound grammar (``Bound``, ``parse_bound``, metric names) and
  ``needed_n``, the fewest values a bound's statistic needs
- ``rules``: ``Rule``, ``GateSet``, ``GateError``, the outcomes, ``marker_rule``, and
  ``OPT_IN_SUITES`` (the suites a rule without ``suite`` leaves alone)
- ``files``: gate files (TOML) -> ``GateSet``: ``load_gates``, ``GateFileError``,
  ``DEFAULT_GATES_PATH`` (``default_gates.toml``, beside this file)
- ``matching``: ``GateContext``, rule matching and ranking, ``explain``/``Explanation``
- ``samples``: ``count_trials`` (-> ``TrialCount``), the sample-size rule, and
  ``raised_trials_note`` (a raised trial count is said, never silent)
- ``judging``: ``evaluate`` (verdicts with CIs and noise notes), ``should_fail``
- ``table``: ``format_table``, the verdict table
- ``baseline``: ``Baseline``, ``load_baseline``, ``compare_baseline`` (regressions,
  matched on ``pytest_ttsbench.results.keys.result_key``)
- ``units``: observed values and their units as verdicts show them

``Verdict`` (and its JSON form) lives in ``pytest_ttsbench.results.verdict``.
"""
