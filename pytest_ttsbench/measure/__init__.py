"""The pure benchmark core: trial stamping, the runners of each benchmark shape, trial
planning, load generation, cold start, memory sampling, audio checks and prompts.

Nothing here imports pytest; the fixture facade (``pytest_ttsbench.fixture``) turns
what these modules raise into skips and failures.
"""
