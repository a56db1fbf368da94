"""The data commands: `sample` (a generated sample), `validate` (every problem of a file), `signals`
(the wide signals table as of a date)."""

from __future__ import annotations

import json
from pathlib import Path

from ..loading import validate_path
from ..sample import generate_sample
from ..signals import signals_table
from .inputs import CliError, as_of_date, mapping_of, open_data
from .outputs import write_frame


def cmd_sample(args) -> int:
    out = generate_sample(args.out, n_accounts=args.accounts, seed=args.seed, fmt=args.format)
    print(f"wrote sample of {args.accounts:,} accounts to {out}")
    return 0


def cmd_validate(args) -> int:
    paths = [Path(p) for p in args.paths + ([args.data] if args.data else [])]
    if not paths:
        raise CliError("give the data to check: validate PATH ... or validate --data PATH")
    bad = 0
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() != ".md") if (path.is_dir() and args.each) else [path]
        for f in files:
            report = validate_path(f, mapping=mapping_of(args), sheet=args.sheet)
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
    store = open_data(args)
    as_of = as_of_date(args, store)
    table = signals_table(store, as_of)
    frame = store.df(f"SELECT * FROM {table} ORDER BY account_id")
    write_frame(frame, args.out)
    print(f"wrote signals of {len(frame):,} accounts as of {as_of} to {args.out}")
    return 0
