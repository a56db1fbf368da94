"""The command line: argument types, the shared data and rule-set flags, one sub-command per command."""

from __future__ import annotations

import argparse
from datetime import date

from .data import cmd_sample, cmd_signals, cmd_validate
from .history import cmd_alerts, cmd_explain, cmd_snapshot
from .inputs import MAPPING_FLAGS
from .plays import cmd_uplift
from .scores import cmd_backtest, cmd_fit, cmd_score, cmd_starter

DESCRIPTION = "`python -m riskcore <command>`: a thin CLI; every command opens data and calls the library."


def date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, found {text!r}")


def positive_arg(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, found {text!r}")
    return n


def add_data_flags(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--data", required=required,
                   help="an account table file (CSV/Parquet/Excel), a folder of activity tables or a DuckDB file")
    for flag in MAPPING_FLAGS:
        p.add_argument(f"--{flag}-column", dest=f"{flag}_column", help=f"column holding the account {flag}")
    p.add_argument("--outcome-positive", help="value(s) of the outcome column meaning churned, comma-separated")
    p.add_argument("--sheet", help="Excel sheet to read (default: the first)")


def add_rules_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", help="rule-set TOML (default: data/rules/default.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m riskcore", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write a generated sample of activity tables")
    p.add_argument("--accounts", type=int, default=5000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("validate", help="check data files and report every problem (file, row, column)")
    p.add_argument("paths", nargs="*", help="files or folders (or --data PATH, as for the other commands)")
    add_data_flags(p, required=False)
    p.add_argument("--each", action="store_true", help="treat every file in a folder as its own account table")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("signals", help="write the wide signals table as of a date")
    add_data_flags(p)
    p.add_argument("--as-of", type=date_arg)
    p.add_argument("--out", required=True, help=".csv or .parquet")
    p.set_defaults(func=cmd_signals)

    p = sub.add_parser("score", help="score every account and write one row per account")
    add_data_flags(p); add_rules_flag(p)
    p.add_argument("--as-of", type=date_arg)
    p.add_argument("--out", required=True, help=".csv or .parquet")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("backtest", help="compare the score with what happened (point in time; an account "
                                         "table without dates: cross-validated)")
    add_data_flags(p); add_rules_flag(p)
    p.add_argument("--as-of", type=date_arg, help="as-of date D (default: the latest date with a full horizon)")
    p.add_argument("--train-as-of", type=date_arg, help="earlier date to fit the probability mapping and baselines")
    p.add_argument("--horizon", type=int, help="days after D in which churn counts (default 90)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("fit", help="write a rule set whose points are fitted from history")
    add_data_flags(p); add_rules_flag(p)
    p.add_argument("--as-of", type=date_arg)
    p.add_argument("--horizon", type=int, help="days after D in which churn counts (default 90)")
    p.add_argument("--out", required=True)
    p.add_argument("--scorecard", action="store_true",
                   help="propose the rules as well as the points: a scorecard over binned signals")
    p.add_argument("--max-rules", type=positive_arg, help="with --scorecard: at most this many rules (default 40)")
    p.add_argument("--json", action="store_true", help="with --scorecard: print the frontier as JSON")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("starter", help="write starter rules from an account table's own columns")
    add_data_flags(p)
    p.add_argument("--out", required=True, help="rule-set TOML to write")
    p.set_defaults(func=cmd_starter)

    p = sub.add_parser("snapshot", help="store every account's scores as of a date")
    add_data_flags(p); add_rules_flag(p)
    p.add_argument("--as-of", type=date_arg)
    p.add_argument("--store", required=True, help="a DuckDB file or a folder of Parquet files")
    p.add_argument("--wait", type=float, default=None,
                   help="seconds to wait while another process writes the DuckDB store (default: "
                        "$RISKCORE_STORE_WAIT or 30)")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("explain", help="why an account's score changed between two dates")
    add_data_flags(p, required=False); add_rules_flag(p)
    p.add_argument("--store", help="snapshot store")
    p.add_argument("--account", required=True)
    p.add_argument("--from", dest="from_date", type=date_arg, required=True)
    p.add_argument("--to", dest="to_date", type=date_arg, required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("alerts", help="alerts on sudden score shifts since a date")
    add_data_flags(p, required=False); add_rules_flag(p)
    p.add_argument("--store", help="snapshot store")
    p.add_argument("--since", type=date_arg, required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("uplift", help="did a play work? churn of the accounts that got it against a control group")
    add_data_flags(p); add_rules_flag(p)
    p.add_argument("--play", required=True, help="the play's name in the plays table")
    p.add_argument("--horizon", type=int, help="days after each start in which churn counts (default 90)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_uplift)
    return parser
