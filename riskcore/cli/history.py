"""The history commands: `snapshot` (every account's scores stored as of a date), `explain` (why an
account's score changed), `alerts` (sudden shifts since a date)."""

from __future__ import annotations

import json

from ..history import alerts, check_store_file, explain, format_alerts, format_explain, snapshot
from ..signals import signals_table
from .inputs import as_of_date, load_rules, open_data, print_notes


def cmd_snapshot(args) -> int:
    check_store_file(args.store)  # a damaged store stops the command before the data is read
    rs = load_rules(args, scoring=True)
    store = open_data(args, rs)
    as_of = as_of_date(args, store)
    print_notes(args, store, rs, signals_table(store, as_of), segments=True)
    n = snapshot(store, rs, as_of, args.store, wait=args.wait)
    print(f"snapshot of {n:,} accounts as of {as_of} ({rs.name}) stored in {args.store}")
    return 0


def cmd_explain(args) -> int:
    rs = load_rules(args)
    store = open_data(args, rs) if args.data else None
    result = explain(args.account, args.from_date, args.to_date, rules=rs, store=store, snapshots=args.store)
    print(json.dumps(result, indent=2, default=str) if args.json else format_explain(result))
    return 0


def cmd_alerts(args) -> int:
    rs = load_rules(args)
    store = open_data(args, rs) if args.data else None
    found = alerts(rs, args.since, store=store, snapshots=args.store)
    print(json.dumps(found, indent=2, default=str) if args.json else format_alerts(found))
    return 0
