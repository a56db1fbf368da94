"""What every command reads: the data (loaded with the mapping flags, then locked down), the rule set,
the defaults (as-of date, horizon, the table scored) and the notes to print before scores are trusted."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from ..datachecks import ruleset_problems
from ..db import Mapping, Store
from ..loading import load_data
from ..mapping import mapping_from_dict
from ..playbooks import catalog_frame, load_catalog
from ..rules import NO_RULES, load_ruleset, rule_problems, segment_problems
from ..scoring import column_facts, score
from ..security import lock_down
from ..signals import signals_table
from ..workspace import DEFAULT_RULES, default_as_of

MAPPING_FLAGS = ("id", "name", "value", "owner", "segment", "renewal", "outcome", "parent")


class CliError(Exception):
    """Bad input from the command line: printed as one message, exit code 1."""


def mapping_of(args, rs=None) -> Mapping | None:
    """Flags win over the rule set's [data] section; None means auto-detect everything."""
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


def rules_path(args) -> Path:
    return Path(args.rules) if getattr(args, "rules", None) else DEFAULT_RULES


def load_rules(args, scoring: bool = False):
    """The rule set of --rules (or the default); `scoring`: refuse one without rules (all scores 0)."""
    path = rules_path(args)
    if not path.exists():
        raise CliError(f"{path}: rule-set file not found")
    rs = load_ruleset(path)
    if scoring and not rs.rules:
        raise CliError(f"{path}: {NO_RULES}")
    return rs


def note_unavailable(store: Store, rs, table: str, segments: bool = False) -> None:
    """Say why each rule (and behavioural segment) that cannot run on this data (missing or empty
    column, a type its op cannot use) is left out; the others score."""
    facts = column_facts(store, table, rs)
    problems = rule_problems(rs, facts)
    for p in problems + (segment_problems(rs, facts) if segments else []):
        print(f"note: {p.message}", file=sys.stderr)
    if rs.rules and len(problems) >= len(rs.rules):
        print("warning: no rule of this rule set can run on this data, so every score is 0: write rules for its "
              "columns, or start from `python -m riskcore starter --data ... --out rules.toml`", file=sys.stderr)


def print_notes(args, store: Store, rs, table: str, segments: bool = False) -> None:
    """Print what the user should know before trusting scores: unavailable rules, and rule-set references
    the data cannot honour (overrides of unknown segments, a missing or text value column)."""
    note_unavailable(store, rs, table, segments=segments)
    for p in ruleset_problems(store, rs, table, source=str(rules_path(args))):
        print(str(p), file=sys.stderr)


def horizon_days(args, store: Store) -> int:
    """--horizon (default 90); on an account table, which has no dates, a given --as-of / --horizon /
    --train-as-of means nothing: say so rather than ignore it silently."""
    if store.dataset is not None and store.dataset.kind == "account_table":
        given = [f for f in ("as_of", "horizon", "train_as_of") if getattr(args, f, None) is not None]
        if given:
            flags = ", ".join("--" + f.replace("_", "-") for f in given)
            print(f"note: {flags} ignored: an account table has no dates (the backtest is cross-validated)",
                  file=sys.stderr)
    return args.horizon if args.horizon is not None else 90


def open_data(args, rs=None) -> Store:
    store = Store()
    report = load_data(store, Path(args.data), mapping=mapping_of(args, rs), sheet=getattr(args, "sheet", None))
    for w in report.warnings:
        print(str(w), file=sys.stderr)
    return lock_down(store)  # from here on, rule SQL cannot reach files or extensions


def default_table(store: Store) -> str:
    """The table scored by default: the account table, or the signals as of the latest activity date."""
    return signals_table(store, default_as_of(store))


def as_of_date(args, store: Store) -> date:
    return args.as_of or default_as_of(store)


def load_and_score(args):
    """Load data and rules, score as of the date; returns (store, rule set, scored table, as_of)."""
    rs = load_rules(args, scoring=True)
    store = open_data(args, rs)
    as_of = as_of_date(args, store)
    table = signals_table(store, as_of)
    print_notes(args, store, rs, table)
    scored = score(store, rs, table, playbooks=catalog_frame(load_catalog()))
    return store, rs, scored, as_of
