"""Command line: ``python -m pytest_ttsbench`` (also installed as ``ttsbench``).

    python -m pytest_ttsbench merge out/*.json --doc docs/BENCHMARK_RESULTS.md
    python -m pytest_ttsbench show out/results-20250131T120102Z-gpu1.json
    python -m pytest_ttsbench serve --model kokoro --backend onnx --port 8000

Exit codes: 0 done; 1 the doc was not updated (unsafe doc: rows went to a side file,
or the file system refused); 2 bad input (a missing or foreign results file, another
results schema, bad arguments).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ttsbench.settings import Settings
from pytest_ttsbench.version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_OK = 0
EXIT_NOT_UPDATED = 1
EXIT_BAD_INPUT = 2


def _history(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_ttsbench",
        description="pytest-ttsbench tools for results files and the results doc.",
    )
    parser.add_argument("--version", action="version", version=f"pytest-ttsbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    m = sub.add_parser(
        "merge",
        help="upsert results JSON files into the results doc",
        description="Upsert the results of any number of results JSON files "
        "(headline table, a section per suite) into the doc.",
    )
    m.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS.json",
        help="results files; a folder means every results-*.json below it",
    )
    m.add_argument(
        "--doc",
        type=Path,
        default=Path("docs/BENCHMARK_RESULTS.md"),
        help="the Markdown results doc (default: %(default)s)",
    )
    m.add_argument(
        "--history",
        type=_history,
        default=Settings.history,
        metavar="N",
        help="previous values kept per row in the doc's history (default: %(default)s)",
    )
    m.add_argument(
        "--plot",
        action="store_true",
        help="also write <doc>.svg (TTFA p50, RTF p50) and link it; needs matplotlib",
    )
    s = sub.add_parser("show", help="print the results of results JSON files as a table")
    s.add_argument("results", nargs="+", metavar="RESULTS.json")
    s.add_argument("--markdown", action="store_true", help="Markdown, as in the step summary")
    from pytest_ttsbench.serving.serve import add_parser  # argparse only: no HTTP stack

    add_parser(sub)
    return parser


def _merge(args: argparse.Namespace) -> int:
    from pytest_ttsbench.report.merge import expand_paths, merge
    from pytest_ttsbench.results.files import ResultsFileError

    try:
        paths = expand_paths(args.results)
        outcome = merge(paths, args.doc, history=args.history, plot=args.plot)
    except ResultsFileError as exc:
        print(f"error: {exc}\nnothing was written.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: could not write {args.doc}: {exc}; the old file is intact.", file=sys.stderr)
        return EXIT_NOT_UPDATED
    n_results = len(paths)
    print(f"merged {n_results} results file{'s' if n_results != 1 else ''}")
    for line in outcome.describe():
        print(line)
    return EXIT_OK if outcome.ok else EXIT_NOT_UPDATED


def _show(args: argparse.Namespace) -> int:
    from pytest_ttsbench.report.merge import expand_paths, load_all
    from pytest_ttsbench.report.summary import github_step_summary, terminal_table
    from pytest_ttsbench.results.files import ResultsFileError

    try:
        files = load_all(expand_paths(args.results))
    except ResultsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    results = [r for f in files for r in f.results]
    print(github_step_summary(results) if args.markdown else terminal_table(results))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "merge":
        return _merge(args)
    if args.command == "serve":
        from pytest_ttsbench.serving.serve import run

        return run(args)
    return _show(args)


if __name__ == "__main__":
    sys.exit(main())
