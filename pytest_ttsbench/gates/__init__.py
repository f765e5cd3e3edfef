"""Gates: the bound grammar, gate files, matching, sample sizes, judging, verdict
tables and baselines. Pure: the pytest side is ``pytest_ttsbench.gatekeeper``."""
