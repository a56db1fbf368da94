"""The plays command: `uplift` (did a play work: churn of the accounts that got it against a control)."""

from __future__ import annotations

import json

from ..uplift import format_uplift, uplift
from .inputs import load_rules, open_data


def cmd_uplift(args) -> int:
    rs = load_rules(args)
    store = open_data(args, rs)
    horizon = args.horizon if args.horizon is not None else 90
    result = uplift(store, args.play, horizon_days=horizon, rules=rs)
    print(json.dumps(result, indent=2) if args.json else format_uplift(result))
    return 0
