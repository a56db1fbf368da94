"""`python -m riskcore <command>`: a thin CLI; every command opens data and calls the library."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from .db import Mapping, Store
from .report import LoadError

MAPPING_FLAGS = ("id", "name", "value", "owner", "segment", "renewal", "outcome", "parent")


class CliError(Exception):
    """Bad input from the command line: printed as one message, exit code 1."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, found {text!r}")


def _add_data(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--data", required=required,
                   help="an account table file (CSV/Parquet/Excel), a folder of activity tables or a DuckDB file")
    for flag in MAPPING_FLAGS:
        p.add_argument(f"--{flag}-column", dest=f"{flag}_column", help=f"column holding the account {flag}")
    p.add_argument("--outcome-positive", help="value(s) of the outcome column meaning churned, comma-separated")
    p.add_argument("--sheet", help="Excel sheet to read (default: the first)")


def _add_rules(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", help="rule-set TOML (default: data/rules/default.toml)")


def _mapping(args, rs=None) -> Mapping | None:
    """Flags win over the rule set's [data] section; None means auto-detect everything."""
    from .mapping import mapping_from_dict
    base = {}
    if rs is not None and getattr(rs, "data", None) is not None:
        base = {k: v for k, v in vars(rs.data).items() if v is not None}
    for flag in MAPPING_FLAGS:
        v = getattr(args, f"{flag}_column", None)
        if v:
            base[f"{flag}_column"] = v
    if getattr(args, "outcome_positive", None):
        base["outcome_positive"] = args.outcome_positive  # "Yes" or "Yes,Churned": split there
    return mapping_from_dict(base)


def _rules(args, scoring: bool = False):
    """The rule set of --rules (or the default); `scoring`: refuse one without rules (all scores 0)."""
    from .rules import NO_RULES, load_ruleset
    from .workspace import DEFAULT_RULES
    path = Path(args.rules) if getattr(args, "rules", None) else DEFAULT_RULES
    if not path.exists():
        raise CliError(f"{path}: rule-set file not found")
    rs = load_ruleset(path)
    if scoring and not rs.rules:
        raise CliError(f"{path}: {NO_RULES}")
    return rs


def _note_unavailable(store: Store, rs, table: str, segments: bool = False) -> None:
    """Say why each rule (and behavioural segment) that cannot run on this data (missing or empty
    column, a type its op cannot use) is left out; the others score."""
    from .rules import rule_problems, segment_problems
    from .scoring import column_facts
    facts = column_facts(store, table, rs)
    for p in rule_problems(rs, facts) + (segment_problems(rs, facts) if segments else []):
        print(f"note: {p.message}", file=sys.stderr)


def _open(args, rs=None) -> Store:
    from .loading import load_data
    store = Store()
    report = load_data(store, Path(args.data), mapping=_mapping(args, rs), sheet=getattr(args, "sheet", None))
    for w in report.warnings:
        print(str(w), file=sys.stderr)
    from .security import lock_down
    return lock_down(store)  # from here on, rule SQL cannot reach files or extensions


def _as_of(args, store: Store) -> date:
    from .workspace import default_as_of
    return args.as_of or default_as_of(store)


def _scored(args):
    """Load data and rules, score as of the date; returns (store, rule set, scored table, as_of)."""
    from .playbooks import catalog_frame, load_catalog
    from .scoring import score
    from .signals import signals_table
    rs = _rules(args, scoring=True)
    store = _open(args, rs)
    as_of = _as_of(args, store)
    table = signals_table(store, as_of)
    _note_unavailable(store, rs, table)
    scored = score(store, rs, table, playbooks=catalog_frame(load_catalog()))
    return store, rs, scored, as_of


def _write_frame(frame, out: str) -> None:
    path = Path(out)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() in (".csv", ".txt"):
        from .export import to_csv_bytes
        path.write_bytes(to_csv_bytes(frame))
    else:
        raise CliError(f"{out}: unknown output format (expected .csv or .parquet)")


# ---- commands ------------------------------------------------------------------

def cmd_sample(args) -> int:
    from .sample import generate_sample
    out = generate_sample(args.out, n_accounts=args.accounts, seed=args.seed, fmt=args.format)
    print(f"wrote sample of {args.accounts} accounts to {out}")
    return 0


def cmd_validate(args) -> int:
    from .loading import validate_path
    paths = [Path(p) for p in args.paths]
    bad = 0
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() != ".md") if (path.is_dir() and args.each) else [path]
        for f in files:
            report = validate_path(f, mapping=_mapping(args))
            if args.json:
                print(json.dumps({"path": str(f), "ok": report.ok, "problems": report.as_rows(),
                                  "rows_loaded": report.rows_loaded, "rows_skipped": report.rows_skipped}))
            else:
                print(f"{f}: {'OK' if report.ok else 'FAILED'}")
                for p in report.problems:
                    print(f"  {p}")
            bad += not report.ok
    return 1 if bad else 0


def cmd_signals(args) -> int:
    from .signals import signals_table
    store = _open(args)
    as_of = _as_of(args, store)
    table = signals_table(store, as_of)
    frame = store.df(f"SELECT * FROM {table} ORDER BY account_id")
    _write_frame(frame, args.out)
    print(f"wrote signals of {len(frame)} accounts as of {as_of} to {args.out}")
    return 0


def cmd_score(args) -> int:
    from .export import format_reasons
    store, rs, scored, as_of = _scored(args)
    dims = [d for d in rs.dimensions]
    cols = ["account_id", "risk_score", "tier", "quadrant", "playbook", "reasons"] + [f"{d}_score" for d in dims]
    frame = store.df(f"SELECT {', '.join(cols)} FROM {scored} ORDER BY risk_score DESC, account_id")
    frame["reasons"] = frame["reasons"].map(lambda r: format_reasons(r, dimension=rs.primary_dimension))
    _write_frame(frame, args.out)
    print(f"scored {len(frame)} accounts as of {as_of} with rule set {rs.name!r}: {args.out}")
    return 0


def cmd_backtest(args) -> int:
    from .backtest import run_backtest
    from .signals import signals_table
    rs = _rules(args, scoring=True)
    store = _open(args, rs)
    as_of = args.as_of or None
    result = run_backtest(store, rs, as_of=as_of, horizon_days=args.horizon, train_as_of=args.train_as_of)
    scored_on = result.get("as_of")  # the evaluation date's signals exist by now: no extra computation
    _note_unavailable(store, rs, signals_table(store, date.fromisoformat(scored_on) if isinstance(scored_on, str)
                                               else _as_of(args, store)))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        from .backtest import format_backtest
        print(format_backtest(result))
    return 0


def cmd_fit(args) -> int:
    from .backtest import fit_rules
    from .rules import ruleset_to_toml
    from .atomic import write_atomic
    rs = _rules(args, scoring=True)
    store = _open(args, rs)
    fitted, info = fit_rules(store, rs, as_of=args.as_of, horizon_days=args.horizon)
    write_atomic(args.out, ruleset_to_toml(fitted))
    print(info["summary"])
    print(f"wrote rule set with suggested weights to {args.out}")
    return 0


def cmd_starter(args) -> int:
    from .atomic import write_atomic
    from .rules import ruleset_to_toml
    from .starter import starter_ruleset, starter_warnings
    store = _open(args)
    if store.dataset.kind != "account_table":
        raise CliError(f"{args.data}: starter rules are for a wide account table; activity data has the default rules")
    rs = starter_ruleset(store)
    for w in starter_warnings(store):
        print(f"warning: {args.data}: {w}", file=sys.stderr)
    write_atomic(args.out, ruleset_to_toml(rs))
    print(f"wrote {len(rs.rules)} starter rules to {args.out}: " + ", ".join(r.label for r in rs.rules))
    return 0


def cmd_snapshot(args) -> int:
    from .history import snapshot
    from .signals import signals_table
    rs = _rules(args, scoring=True)
    store = _open(args, rs)
    as_of = _as_of(args, store)
    _note_unavailable(store, rs, signals_table(store, as_of), segments=True)
    n = snapshot(store, rs, as_of, args.store)
    print(f"snapshot of {n} accounts as of {as_of} ({rs.name}) stored in {args.store}")
    return 0


def cmd_explain(args) -> int:
    from .history import explain, format_explain
    rs = _rules(args)
    store = _open(args, rs) if args.data else None
    result = explain(args.account, args.from_date, args.to_date, rules=rs, store=store, snapshots=args.store)
    print(json.dumps(result, indent=2, default=str) if args.json else format_explain(result))
    return 0


def cmd_alerts(args) -> int:
    from .history import alerts, format_alerts
    rs = _rules(args)
    store = _open(args, rs) if args.data else None
    found = alerts(rs, args.since, store=store, snapshots=args.store)
    print(json.dumps(found, indent=2, default=str) if args.json else format_alerts(found))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m riskcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write a generated sample of activity tables")
    p.add_argument("--accounts", type=int, default=5000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("validate", help="check data files and report every problem (file, row, column)")
    p.add_argument("paths", nargs="+", help="files or folders")
    p.add_argument("--each", action="store_true", help="treat every file in a folder as its own account table")
    p.add_argument("--json", action="store_true")
    for flag in MAPPING_FLAGS:
        p.add_argument(f"--{flag}-column", dest=f"{flag}_column")
    p.add_argument("--outcome-positive")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("signals", help="write the wide signals table as of a date")
    _add_data(p)
    p.add_argument("--as-of", type=_date)
    p.add_argument("--out", required=True, help=".csv or .parquet")
    p.set_defaults(func=cmd_signals)

    p = sub.add_parser("score", help="score every account and write one row per account")
    _add_data(p); _add_rules(p)
    p.add_argument("--as-of", type=_date)
    p.add_argument("--out", required=True, help=".csv or .parquet")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("backtest", help="compare the score with what happened (point in time; an account "
                                         "table without dates: cross-validated)")
    _add_data(p); _add_rules(p)
    p.add_argument("--as-of", type=_date, help="as-of date D (default: the latest date with a full horizon)")
    p.add_argument("--train-as-of", type=_date, help="earlier date to fit the probability mapping and baselines")
    p.add_argument("--horizon", type=int, default=90, help="days after D in which churn counts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("fit", help="write a rule set whose points are fitted from history")
    _add_data(p); _add_rules(p)
    p.add_argument("--as-of", type=_date)
    p.add_argument("--horizon", type=int, default=90)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("starter", help="write starter rules from an account table's own columns")
    _add_data(p)
    p.add_argument("--out", required=True, help="rule-set TOML to write")
    p.set_defaults(func=cmd_starter)

    p = sub.add_parser("snapshot", help="store every account's scores as of a date")
    _add_data(p); _add_rules(p)
    p.add_argument("--as-of", type=_date)
    p.add_argument("--store", required=True, help="a DuckDB file or a folder of Parquet files")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("explain", help="why an account's score changed between two dates")
    _add_data(p, required=False); _add_rules(p)
    p.add_argument("--store", help="snapshot store")
    p.add_argument("--account", required=True)
    p.add_argument("--from", dest="from_date", type=_date, required=True)
    p.add_argument("--to", dest="to_date", type=_date, required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("alerts", help="alerts on sudden score shifts since a date")
    _add_data(p, required=False); _add_rules(p)
    p.add_argument("--store", help="snapshot store")
    p.add_argument("--since", type=_date, required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_alerts)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("explain", "alerts") and not (args.data or args.store):
        print("error: give --store (snapshots) or --data (activity tables)", file=sys.stderr)
        return 1
    try:
        return args.func(args)
    except LoadError as e:
        for p in e.report.problems:
            print(str(p), file=sys.stderr)
        return 1
    except (CliError, FileNotFoundError, KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - the CLI never shows a traceback
        name = type(e).__name__
        if name in ("RuleSetError", "ExpressionError"):
            print(f"error: {e}", file=sys.stderr)
        else:
            print(f"error: {name}: {e}", file=sys.stderr)
        return 1
