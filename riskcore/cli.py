"""`python -m riskcore <command>`: a thin CLI; every command opens data and calls the library."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from datetime import date
from pathlib import Path

from .db import Mapping, Store
from .report import LoadError, user_message

MAPPING_FLAGS = ("id", "name", "value", "owner", "segment", "renewal", "outcome", "parent")
# command -> the flag naming what it writes (checked against every input before anything is read)
OUTPUTS = {"signals": "out", "score": "out", "fit": "out", "starter": "out", "snapshot": "store"}


class CliError(Exception):
    """Bad input from the command line: printed as one message, exit code 1."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, found {text!r}")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, found {text!r}")
    return n


def _add_data(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--data", required=required,
                   help="an account table file (CSV/Parquet/Excel), a folder of activity tables or a DuckDB file")
    for flag in MAPPING_FLAGS:
        p.add_argument(f"--{flag}-column", dest=f"{flag}_column", help=f"column holding the account {flag}")
    p.add_argument("--outcome-positive", help="value(s) of the outcome column meaning churned, comma-separated")
    p.add_argument("--sheet", help="Excel sheet to read (default: the first)")


def _refuse_overwrite(args) -> None:
    """Every command that writes: its output may not be one of its inputs (the --data file or folder, a
    table inside the --data folder, the --rules file); refused before anything is read or written."""
    flag = OUTPUTS.get(args.command)
    out = getattr(args, flag, None) if flag else None
    if out is None:
        return
    from .activity import table_for
    from .atomic import input_clash
    inputs = {"--data": getattr(args, "data", None),
              "--rules": _rules_path(args) if hasattr(args, "rules") else None}  # the default rule set too
    why = input_clash(out, inputs, folder_reads=table_for)
    if why:
        raise CliError(f"refusing to write --{flag} {out}: {why}. Nothing was written and the input is "
                       "untouched; choose another path")


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


def _rules_path(args) -> Path:
    from .workspace import DEFAULT_RULES
    return Path(args.rules) if getattr(args, "rules", None) else DEFAULT_RULES


def _rules(args, scoring: bool = False):
    """The rule set of --rules (or the default); `scoring`: refuse one without rules (all scores 0)."""
    from .rules import NO_RULES, load_ruleset
    path = _rules_path(args)
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
    problems = rule_problems(rs, facts)
    for p in problems + (segment_problems(rs, facts) if segments else []):
        print(f"note: {p.message}", file=sys.stderr)
    if rs.rules and len(problems) >= len(rs.rules):
        print("warning: no rule of this rule set can run on this data, so every score is 0: write rules for its "
              "columns, or start from `python -m riskcore starter --data ... --out rules.toml`", file=sys.stderr)


def _notes(args, store: Store, rs, table: str, segments: bool = False) -> None:
    """Print what the user should know before trusting scores: unavailable rules, and rule-set references
    the data cannot honour (overrides of unknown segments, a missing or text value column)."""
    from .datachecks import ruleset_problems
    _note_unavailable(store, rs, table, segments=segments)
    for p in ruleset_problems(store, rs, table, source=str(_rules_path(args))):
        print(str(p), file=sys.stderr)


def _horizon(args, store: Store) -> int:
    """--horizon (default 90); on an account table, which has no dates, a given --as-of / --horizon /
    --train-as-of means nothing: say so rather than ignore it silently."""
    if store.dataset is not None and store.dataset.kind == "account_table":
        given = [f for f in ("as_of", "horizon", "train_as_of") if getattr(args, f, None) is not None]
        if given:
            flags = ", ".join("--" + f.replace("_", "-") for f in given)
            print(f"note: {flags} ignored: an account table has no dates (the backtest is cross-validated)",
                  file=sys.stderr)
    return args.horizon if args.horizon is not None else 90


def _open(args, rs=None) -> Store:
    from .loading import load_data
    store = Store()
    report = load_data(store, Path(args.data), mapping=_mapping(args, rs), sheet=getattr(args, "sheet", None))
    for w in report.warnings:
        print(str(w), file=sys.stderr)
    from .security import lock_down
    return lock_down(store)  # from here on, rule SQL cannot reach files or extensions


def _table(store: Store) -> str:
    """The table scored by default: the account table, or the signals as of the latest activity date."""
    from .signals import signals_table
    from .workspace import default_as_of
    return signals_table(store, default_as_of(store))


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
    _notes(args, store, rs, table)
    scored = score(store, rs, table, playbooks=catalog_frame(load_catalog()))
    return store, rs, scored, as_of


def _write_frame(frame, out: str) -> None:
    """Write .csv or .parquet atomically: a failed write leaves what was there before."""
    import io
    from .atomic import write_atomic
    path = Path(out)
    if path.suffix.lower() == ".parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        write_atomic(path, buf.getvalue())
    elif path.suffix.lower() in (".csv", ".txt"):
        from .export import to_csv_bytes
        write_atomic(path, to_csv_bytes(frame))
    else:
        raise CliError(f"{out}: unknown output format (expected .csv or .parquet)")


# ---- commands ------------------------------------------------------------------

def cmd_sample(args) -> int:
    from .sample import generate_sample
    out = generate_sample(args.out, n_accounts=args.accounts, seed=args.seed, fmt=args.format)
    print(f"wrote sample of {args.accounts:,} accounts to {out}")
    return 0


def cmd_validate(args) -> int:
    from .loading import validate_path
    paths = [Path(p) for p in args.paths + ([args.data] if args.data else [])]
    if not paths:
        raise CliError("give the data to check: validate PATH ... or validate --data PATH")
    bad = 0
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() != ".md") if (path.is_dir() and args.each) else [path]
        for f in files:
            report = validate_path(f, mapping=_mapping(args), sheet=args.sheet)
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
    print(f"wrote signals of {len(frame):,} accounts as of {as_of} to {args.out}")
    return 0


def cmd_score(args) -> int:
    from .export import format_reasons
    store, rs, scored, as_of = _scored(args)
    dims = [d for d in rs.dimensions]
    cols = ["account_id", "risk_score", "tier", "quadrant", "playbook", "reasons"] + [f"{d}_score" for d in dims]
    frame = store.df(f"SELECT {', '.join(cols)} FROM {scored} ORDER BY risk_score DESC, account_id")
    frame["reasons"] = frame["reasons"].map(lambda r: format_reasons(r, dimension=rs.primary_dimension))
    _write_frame(frame, args.out)
    print(f"scored {len(frame):,} accounts as of {as_of} with rule set {rs.name!r}: {args.out}")
    return 0


def cmd_backtest(args) -> int:
    from .backtest import run_backtest
    from .signals import signals_table
    rs = _rules(args, scoring=True)
    store = _open(args, rs)
    as_of = args.as_of or None
    result = run_backtest(store, rs, as_of=as_of, horizon_days=_horizon(args, store), train_as_of=args.train_as_of,
                          with_alerts=True)
    scored_on = result.get("as_of")  # the evaluation date's signals exist by now: no extra computation
    _notes(args, store, rs, signals_table(store, date.fromisoformat(scored_on) if isinstance(scored_on, str)
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
    if args.scorecard:
        return _fit_scorecard(args)
    if args.json or args.max_rules is not None:
        raise CliError("--max-rules and --json go with --scorecard (fit without it re-weights the given rules)")
    rs = _rules(args, scoring=True)
    store = _open(args, rs)
    _notes(args, store, rs, _table(store))
    fitted, info = fit_rules(store, rs, as_of=args.as_of, horizon_days=_horizon(args, store))
    write_atomic(args.out, ruleset_to_toml(fitted))
    print(info["summary"])
    print(f"wrote rule set with suggested weights to {args.out}")
    return 0


def _fit_scorecard(args) -> int:
    """`fit --scorecard`: rules and points proposed from history, the frontier printed (or as JSON)."""
    from .atomic import write_atomic
    from .rules import ruleset_to_toml
    from .scorecard import fit_scorecard
    rs = _rules(args) if args.rules else None  # an account table has no default rules to keep
    store = _open(args, rs)
    if rs is None and store.dataset.kind == "activity":
        rs = _rules(args)  # the default rule set's other dimensions, quadrant and fusion stay
    fitted, info = fit_scorecard(store, rs, as_of=args.as_of, horizon_days=_horizon(args, store),
                                 max_rules=args.max_rules or 40)
    write_atomic(args.out, ruleset_to_toml(fitted))
    if args.json:
        print(json.dumps({k: v for k, v in info.items() if k != "summary"}, indent=2, default=str))
    else:
        print(info["summary"])
        print(f"wrote the scorecard rule set to {args.out}")
    return 0


def cmd_starter(args) -> int:
    from .atomic import write_atomic
    from .rules import rule_label, ruleset_to_toml
    from .starter import starter_warnings, starter_with_tiers
    from .valueaxis import value_phrase
    store = _open(args)
    if store.dataset.kind != "account_table":
        raise CliError(f"{args.data}: starter rules are for a wide account table; activity data has the default rules")
    rs, tiers = starter_with_tiers(store)
    for w in starter_warnings(store):
        print(f"warning: {args.data}: {w}", file=sys.stderr)
    write_atomic(args.out, ruleset_to_toml(rs))
    print(f"wrote {len(rs.rules)} starter rules to {args.out}: " + ", ".join(rule_label(r) for r in rs.rules))
    print(f"tiers from the data: {tiers.summary()}")
    print(f"value: {value_phrase(rs.quadrant, has_values=_has_values(store, rs))}")
    return 0


def _has_values(store, rs) -> bool:
    from .db import quote_ident
    col = rs.quadrant.value_column
    return col in store.columns("account_table") and bool(
        store.one(f"SELECT count({quote_ident(col)}) FROM account_table"))


def cmd_snapshot(args) -> int:
    from .history import check_store_file, snapshot
    from .signals import signals_table
    check_store_file(args.store)  # a damaged store stops the command before the data is read
    rs = _rules(args, scoring=True)
    store = _open(args, rs)
    as_of = _as_of(args, store)
    _notes(args, store, rs, signals_table(store, as_of), segments=True)
    n = snapshot(store, rs, as_of, args.store, wait=args.wait)
    print(f"snapshot of {n:,} accounts as of {as_of} ({rs.name}) stored in {args.store}")
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


def cmd_uplift(args) -> int:
    from .uplift import format_uplift, uplift
    rs = _rules(args)
    store = _open(args, rs)
    horizon = args.horizon if args.horizon is not None else 90
    result = uplift(store, args.play, horizon_days=horizon, rules=rs)
    print(json.dumps(result, indent=2) if args.json else format_uplift(result))
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
    p.add_argument("paths", nargs="*", help="files or folders (or --data PATH, as for the other commands)")
    _add_data(p, required=False)
    p.add_argument("--each", action="store_true", help="treat every file in a folder as its own account table")
    p.add_argument("--json", action="store_true")
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
    p.add_argument("--horizon", type=int, help="days after D in which churn counts (default 90)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("fit", help="write a rule set whose points are fitted from history")
    _add_data(p); _add_rules(p)
    p.add_argument("--as-of", type=_date)
    p.add_argument("--horizon", type=int, help="days after D in which churn counts (default 90)")
    p.add_argument("--out", required=True)
    p.add_argument("--scorecard", action="store_true",
                   help="propose the rules as well as the points: a scorecard over binned signals")
    p.add_argument("--max-rules", type=_positive, help="with --scorecard: at most this many rules (default 40)")
    p.add_argument("--json", action="store_true", help="with --scorecard: print the frontier as JSON")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("starter", help="write starter rules from an account table's own columns")
    _add_data(p)
    p.add_argument("--out", required=True, help="rule-set TOML to write")
    p.set_defaults(func=cmd_starter)

    p = sub.add_parser("snapshot", help="store every account's scores as of a date")
    _add_data(p); _add_rules(p)
    p.add_argument("--as-of", type=_date)
    p.add_argument("--store", required=True, help="a DuckDB file or a folder of Parquet files")
    p.add_argument("--wait", type=float, default=None,
                   help="seconds to wait while another process writes the DuckDB store (default: "
                        "$RISKCORE_STORE_WAIT or 30)")
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

    p = sub.add_parser("uplift", help="did a play work? churn of the accounts that got it against a control group")
    _add_data(p); _add_rules(p)
    p.add_argument("--play", required=True, help="the play's name in the plays table")
    p.add_argument("--horizon", type=int, help="days after each start in which churn counts (default 90)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_uplift)
    return parser


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
        _refuse_overwrite(args)
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
