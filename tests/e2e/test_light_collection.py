"""Loading the plugin and collecting the whole matrix import nothing heavy: no numpy,
no report writer dependency, no engine package. Skips are decided with find_spec,
nvidia-smi and file checks; the trial runner and the report writers are imported when
the first benchmark runs or the first report is written. Checked through sys.modules
in fresh processes: the import list, never a time."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# what the plugin itself depends on, imported only to measure or to write reports
CORE_HEAVY = (
    "numpy",
    "scipy",
    "pyloudnorm",
    "psutil",
    "tabulate",
    "filelock",
)
# engine packages and what they pull in
ENGINE_HEAVY = (
    "torch",
    "mlx",
    "onnxruntime",
    "chatterbox",
    "mlx_audio",
    "kokoro_onnx",
    "kokoro",
    "transformers",
    "tokenizers",
    "huggingface_hub",
    "misaki",
    "spacy",
    # the serving stack: a --tts-server target imports httpx at load, the serve app the rest
    "httpx",
    "starlette",
    "uvicorn",
)
HEAVY = CORE_HEAVY + ENGINE_HEAVY

SUITES = Path(__file__).resolve().parents[2] / "suites"

# a plugin that writes the heavy top-level packages loaded once collection is done
DUMP_PLUGIN = textwrap.dedent(
    """
    import json
    import os
    import sys

    HEAVY = {heavy!r}

    def pytest_collection_finish(session):
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY))
        with open(os.environ["TTSBENCH_TEST_DUMP"], "w") as fh:
            json.dump(loaded, fh)
    """
)


def _clean_env(**extra: str) -> dict[str, str]:
    """A child process that is a plain run even when this one is an xdist worker, and
    sets no option of ours through the environment (TTSBENCH_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TTSBENCH_"))}
    env.update(extra)
    return env


def test_importing_the_plugin_loads_nothing_heavy() -> None:
    code = (
        "import json, sys, pytest_ttsbench.plugin; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=_clean_env(),
    )
    loaded = set(json.loads(done.stdout))
    assert sorted(loaded & set(HEAVY)) == []


# Of the package, loading the plugin imports the option table and the hook wiring only,
# and a run that sets no option and benchmarks nothing imports nothing more: no
# settings parser, registry, matrix, gates or result model. An option set adds the
# settings, resolved at start-up so that a bad value is a usage error.
AT_LOAD = {
    "pytest_ttsbench",
    "pytest_ttsbench.version",
    "pytest_ttsbench.options",
    "pytest_ttsbench.hookspec",
    "pytest_ttsbench.plugin",
}
WITH_AN_OPTION = AT_LOAD | {
    "pytest_ttsbench.settings",
    "pytest_ttsbench.flag_words",
    "pytest_ttsbench.selections",  # its checks import nothing until an option names things
}

# a plugin that writes which pytest_ttsbench modules a run imported, at its end
PACKAGE_DUMP_PLUGIN = textwrap.dedent(
    """
    import json
    import os
    import sys

    def pytest_sessionfinish(session):
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "pytest_ttsbench")
        with open(os.environ["TTSBENCH_TEST_DUMP"], "w") as fh:
            json.dump(loaded, fh)
    """
)


def test_loading_the_plugin_imports_the_option_table_and_the_wiring_only() -> None:
    code = (
        "import json, sys, pytest_ttsbench.plugin; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'pytest_ttsbench')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_clean_env()
    )
    assert set(json.loads(done.stdout)) == AT_LOAD


@pytest.mark.parametrize(
    ("args", "imported"), [((), AT_LOAD), (("--tts-trials=3",), WITH_AN_OPTION)]
)
def test_a_project_that_never_benchmarks_builds_no_session(
    tmp_path: Path, args: tuple[str, ...], imported: set[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    (tmp_path / "ttsbench_dump.py").write_text(PACKAGE_DUMP_PLUGIN)
    dump = tmp_path / "loaded.json"
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "ttsbench_dump", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
        env=_clean_env(PYTHONPATH=path, TTSBENCH_TEST_DUMP=str(dump)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ttsbench:" not in done.stdout  # no header line: nothing was probed
    assert set(json.loads(dump.read_text())) == imported


@pytest.mark.parametrize("args", [(), ("--tts-server=http://127.0.0.1:9",)], ids=["", "server"])
def test_collecting_the_suites_loads_nothing_heavy(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "ttsbench_dump.py").write_text(DUMP_PLUGIN.format(heavy=HEAVY))
    dump = tmp_path / "loaded.json"
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "ttsbench_dump",
            "-p",
            "no:cacheprovider",
            *args,
            str(SUITES),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=_clean_env(PYTHONPATH=path, TTSBENCH_TEST_DUMP=str(dump)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_latency" in done.stdout  # the suites really were collected
    if args:
        assert "server-http-remote" in done.stdout  # the server is a target
    assert json.loads(dump.read_text()) == []


def test_collecting_every_target_imports_no_engine(ttsb: pytest.Pytester) -> None:
    installed = [name for name in ENGINE_HEAVY if importlib.util.find_spec(name) is not None]
    if "kokoro_onnx" not in installed:
        pytest.skip("kokoro-onnx is not installed: nothing heavy could be imported anyway")
    ttsb.makeconftest(
        textwrap.dedent(
            f"""
            import json
            import sys

            HEAVY = {ENGINE_HEAVY!r}

            def pytest_collection_finish(session):
                loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
                with open("heavy.json", "w") as fh:
                    json.dump(loaded, fh)
            """
        )
    )
    ttsb.makepyfile(
        """
        def test_target(tts_target):
            pass

        def test_bench(tts_bench):
            pass
        """
    )
    result = ttsb.runpytest_subprocess("--collect-only", "-q", "--tts-variant=all")
    assert result.ret == 0, result.stdout.str()
    loaded = json.loads((ttsb.path / "heavy.json").read_text())
    assert loaded == [], f"collection imported {loaded} (installed here: {installed})"
    # the whole matrix, every variant, was collected
    assert "chatterbox-turbo-onnx-cpu-q4f16" in result.stdout.str()
