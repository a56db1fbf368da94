"""The scoring commands: `score`, `backtest`, `fit` (fitted points, or with --scorecard proposed rules)
and `starter` (rules from an account table's own columns). The scorecard and starter load
scikit-learn, so they are imported when their command runs."""

from __future__ import annotations

import json
import sys
from datetime import date

from ..atomic import write_atomic
from ..backtest import fit_rules, format_backtest, run_backtest
from ..db import quote_ident
from ..export import format_reasons
from ..rules import rule_label, ruleset_to_toml
from ..signals import signals_table
from ..valueaxis import value_phrase
from .inputs import (CliError, as_of_date, default_table, horizon_days, load_and_score, load_rules, open_data,
                     print_notes)
from .outputs import write_frame


def cmd_score(args) -> int:
    store, rs, scored, as_of = load_and_score(args)
    dims = [d for d in rs.dimensions]
    cols = ["account_id", "risk_score", "tier", "quadrant", "playbook", "reasons"] + [f"{d}_score" for d in dims]
    frame = store.df(f"SELECT {', '.join(cols)} FROM {scored} ORDER BY risk_score DESC, account_id")
    frame["reasons"] = frame["reasons"].map(lambda r: format_reasons(r, dimension=rs.primary_dimension))
    write_frame(frame, args.out)
    print(f"scored {len(frame):,} accounts as of {as_of} with rule set {rs.name!r}: {args.out}")
    return 0


def cmd_backtest(args) -> int:
    rs = load_rules(args, scoring=True)
    store = open_data(args, rs)
    as_of = args.as_of or None
    result = run_backtest(store, rs, as_of=as_of, horizon_days=horizon_days(args, store), train_as_of=args.train_as_of,
                          with_alerts=True)
    scored_on = result.get("as_of")  # the evaluation date's signals exist by now: no extra computation
    print_notes(args, store, rs, signals_table(store, date.fromisoformat(scored_on) if isinstance(scored_on, str)
                                               else as_of_date(args, store)))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(format_backtest(result))
    return 0


def cmd_fit(args) -> int:
    if args.scorecard:
        return _fit_scorecard(args)
    if args.json or args.max_rules is not None:
        raise CliError("--max-rules and --json go with --scorecard (fit without it re-weights the given rules)")
    rs = load_rules(args, scoring=True)
    store = open_data(args, rs)
    print_notes(args, store, rs, default_table(store))
    fitted, info = fit_rules(store, rs, as_of=args.as_of, horizon_days=horizon_days(args, store))
    write_atomic(args.out, ruleset_to_toml(fitted))
    print(info["summary"])
    print(f"wrote rule set with suggested weights to {args.out}")
    return 0


def _fit_scorecard(args) -> int:
    """`fit --scorecard`: rules and points proposed from history, the frontier printed (or as JSON)."""
    from ..scorecard import fit_scorecard  # heavy (scikit-learn, scipy): loaded when the command runs
    rs = load_rules(args) if args.rules else None  # an account table has no default rules to keep
    store = open_data(args, rs)
    if rs is None and store.dataset.kind == "activity":
        rs = load_rules(args)  # the default rule set's other dimensions, quadrant and fusion stay
    fitted, info = fit_scorecard(store, rs, as_of=args.as_of, horizon_days=horizon_days(args, store),
                                 max_rules=args.max_rules or 40)
    write_atomic(args.out, ruleset_to_toml(fitted))
    if args.json:
        print(json.dumps({k: v for k, v in info.items() if k != "summary"}, indent=2, default=str))
    else:
        print(info["summary"])
        print(f"wrote the scorecard rule set to {args.out}")
    return 0


def cmd_starter(args) -> int:
    from ..starter import starter_warnings, starter_with_tiers  # heavy (scikit-learn): loaded when the command runs
    store = open_data(args)
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
    col = rs.quadrant.value_column
    return col in store.columns("account_table") and bool(
        store.one(f"SELECT count({quote_ident(col)}) FROM account_table"))
