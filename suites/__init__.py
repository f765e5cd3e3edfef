"""The standard benchmark suites, shipped in the wheel as ``pytest_ttsbench.suites``.

Run them from any project: ``pytest --pyargs pytest_ttsbench.suites --tts-model=...``.
"""
