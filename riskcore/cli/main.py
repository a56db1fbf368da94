"""Running a command: riskcore's warnings as one line each, bad input as one message and exit code 1,
never a traceback."""

from __future__ import annotations

import sys
import warnings

from ..report import LoadError, user_message
from .inputs import CliError
from .outputs import refuse_overwrite
from .parser import build_parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """riskcore's own warnings (as-of past the data, a busy store) as one line on stderr; others hidden."""
    if category.__module__.startswith("riskcore"):
        print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("explain", "alerts") and not (args.data or args.store):
        print("error: give --store (snapshots) or --data (activity tables)", file=sys.stderr)
        return 1
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        return _run(args)


def _run(args) -> int:
    """Run the command; bad input becomes one message and exit code 1, never a traceback."""
    try:
        refuse_overwrite(args)
        return args.func(args)
    except LoadError as e:
        for p in e.report.problems:
            print(str(p), file=sys.stderr)
        return 1
    except CliError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - the CLI never shows a traceback or an engine's class name
        print(f"error: {user_message(e)}", file=sys.stderr)
        return 1
