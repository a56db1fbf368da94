"""Generating the sample: one Chunk of accounts at a time (fixed size, own random streams), written per
table; `truth.json` with the model and the plays' expected effects; a cached folder per (N, seed)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .accounts import Accounts
from .activity import Activity
from .arrays import epoch_day
from .health import Health
from .parameters import (CHUNK, COEFFICIENTS, DRIVERS, GENERATOR_VERSION, INTERCEPT, NOISE_SD, PLAYS, PLAY_ELIGIBLE_P,
                         PLAY_ENROL_P, PLAY_HORIZON, PLAY_LEAD, STEP, TABLE_NAMES)
from .renewals import Renewals
from .tables import Tables


class Chunk(Accounts, Health, Activity, Renewals, Tables):
    """All generated arrays for one chunk of accounts (days are integers since 1970-01-01)."""

    def __init__(self, rng: np.random.Generator, first: int, n: int, start: int, end: int,
                 plays_rng: np.random.Generator | None = None):
        """`plays_rng`: the plays' own stream (None: no plays); `rng` draws the same numbers either way."""
        self.rng, self.first, self.n, self.start, self.end = rng, first, n, start, end
        self.plays_rng = plays_rng
        self.grid = np.arange(start, end + 1, STEP, dtype=np.int64)  # the usage periods' first days
        self.draw_accounts()
        self.draw_health()
        self.draw_usage()
        self.draw_tickets()
        self.draw_invoices()
        self.draw_touchpoints()
        self.draw_renewals()


def generate_sample(out_dir: str | os.PathLike, n_accounts: int = 5000, seed: int = 42,
                    start: date = date(2024, 11, 1), days: int = 730, fmt: str = "parquet") -> Path:
    """Write the activity tables of `n_accounts` generated accounts and `truth.json` into out_dir.

    Deterministic for (n_accounts, seed, start, days). fmt: "parquet" or "csv".
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got {fmt!r}")
    if n_accounts < 1:
        raise ValueError(f"n_accounts must be at least 1, got {n_accounts}")
    if days < 60:
        raise ValueError(f"days must be at least 60, got {days}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s, e = epoch_day(start), epoch_day(start) + days - 1
    seeds = np.random.SeedSequence(seed).spawn((n_accounts + CHUNK - 1) // CHUNK)
    writers: dict[str, object] = {}
    counts = {t: 0 for t in TABLE_NAMES}
    renewals = churned = 0
    play_stats = {name: [0, 0, 0.0, 0.0] for name in PLAYS}
    try:
        for i, ss in enumerate(seeds):
            first = i * CHUNK
            chunk = Chunk(np.random.default_rng(ss), first, min(CHUNK, n_accounts - first), s, e,
                           plays_rng=np.random.default_rng(ss.spawn(1)[0]))
            renewals, churned = renewals + chunk.renewals, churned + chunk.churned
            for name, st in chunk.play_stats.items():
                play_stats[name] = [a + b for a, b in zip(play_stats[name], st)]
            for name, table in chunk.tables().items():
                if name == "plays" and table.num_rows == 0:
                    continue  # an optional table: no file rather than an empty one (a load warns on those)
                if name not in writers:
                    path = out / f"{name}.{fmt}"
                    writers[name] = (pq.ParquetWriter(path, table.schema, compression="zstd") if fmt == "parquet"
                                     else pacsv.CSVWriter(path, table.schema))
                writers[name].write_table(table)
                counts[name] += table.num_rows
            del chunk
    finally:
        for w in writers.values():
            w.close()
    truth = {
        "model": "P(churn at a renewal) = sigmoid(intercept + sum(coefficients[d] * driver d) + N(0, noise_sd)), "
                 "drivers from the signals as of the day before the renewal",
        "intercept": INTERCEPT, "coefficients": COEFFICIENTS, "drivers": DRIVERS, "noise_sd": NOISE_SD,
        "strong": [k for k, v in COEFFICIENTS.items() if v >= 0.5],
        "weak": [k for k, v in COEFFICIENTS.items() if v < 0.2],
        "generator_version": GENERATOR_VERSION, "seed": seed, "n_accounts": n_accounts, "start": start.isoformat(),
        "end": (start + timedelta(days=days - 1)).isoformat(), "format": fmt, "rows": counts,
        "renewals": renewals, "churned": churned,
        "churn_rate_per_renewal": round(churned / renewals, 4) if renewals else None,
        "plays": _plays_truth(play_stats),
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return out


def _plays_truth(stats: dict[str, list]) -> dict:
    """What the plays do and the effect to expect: per play, the effect (control - treated churn rate
    at the play's renewal, inside a 90-day horizon) expected given who was held out, and over every
    enrolled account (what a randomised hold-out estimates)."""
    plays = {}
    for name, (n_t, n_h, sum_t, sum_h) in stats.items():
        red, spec = PLAYS[name]["relative_reduction"], PLAYS[name]
        n = n_t + n_h
        plays[name] = {
            "relative_reduction": red, "holdout_share": spec["holdout"], "treated": n_t, "control": n_h,
            "expected_control_rate": round(sum_h / n_h, 4) if n_h else None,
            "expected_treated_rate": round((1 - red) * sum_t / n_t, 4) if n_t else None,
            "expected_effect": round(red * (sum_t + sum_h) / n, 4) if n else None,
            "expected_effect_given_groups": (round(sum_h / n_h - (1 - red) * sum_t / n_t, 4)
                                             if n_t and n_h else None)}
    return {
        "model": "a play multiplies the treated account's churn probability at its next renewal by "
                 "(1 - relative_reduction); held-out accounts keep theirs",
        "eligible": f"an account's first renewal in the period whose churn risk without noise, from the signals "
                    f"at the start, is at least {PLAY_ELIGIBLE_P}; {PLAY_ENROL_P:.0%} of them get a play",
        "start": f"{PLAY_LEAD[0]}-{PLAY_LEAD[1] - 1} days before the renewal, with {PLAY_HORIZON} days of data after it",
        "horizon_days": PLAY_HORIZON, "plays": plays}


def ensure_sample(n_accounts: int = 3000, seed: int = 42, cache_dir: str | os.PathLike | None = None) -> Path:
    """The sample folder for (n_accounts, seed), generated once into a cache and reused."""
    target = Path(cache_dir) if cache_dir else (Path(__file__).resolve().parents[2] / ".cache"
                                                / f"sample-v{GENERATOR_VERSION}-{n_accounts}-{seed}")
    if (target / "truth.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        generate_sample(tmp, n_accounts=n_accounts, seed=seed)
        os.rename(tmp, target)  # atomic: readers see a complete folder or none
    except OSError:
        if not (target / "truth.json").exists():  # lost a race to another process: theirs is as good
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
