import hashlib
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from riskcore import sample as S
from riskcore.activity import load_activity
from riskcore.db import Store
from riskcore.sample import COEFFICIENTS, TABLE_NAMES, ensure_sample, generate_sample
from riskcore.signals import signals_table

START = date(2024, 11, 1)


def _hashes(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = generate_sample(tmp_path_factory.mktemp("sample"), n_accounts=2000, seed=7)
    return out, {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLE_NAMES}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_deterministic_per_seed(tmp_path, fmt):
    a = _hashes(generate_sample(tmp_path / "a", n_accounts=300, seed=1, fmt=fmt))
    b = _hashes(generate_sample(tmp_path / "b", n_accounts=300, seed=1, fmt=fmt))
    c = _hashes(generate_sample(tmp_path / "c", n_accounts=300, seed=2, fmt=fmt))
    assert set(a) == {f"{t}.{fmt}" for t in TABLE_NAMES} | {"truth.json"}
    assert a == b
    assert a[f"usage.{fmt}"] != c[f"usage.{fmt}"]


def test_row_counts_and_truth(sample):
    out, t = sample
    truth = json.loads((out / "truth.json").read_text())
    assert truth["rows"] == {name: len(frame) for name, frame in t.items()}
    assert len(t["accounts"]) == 2000 and t["accounts"]["account_id"].is_unique
    periods = len(range(0, 730, S.STEP))  # a usage row every STEP days
    assert 2000 * periods * 0.5 < len(t["usage"]) < 2000 * periods
    assert len(t["invoices"]) > 2000 * 8 and len(t["tickets"]) > 2000 and len(t["touchpoints"]) > 2000 * 4
    assert set(truth["coefficients"]) == set(COEFFICIENTS) == set(truth["drivers"])
    assert truth["intercept"] < 0 and truth["coefficients"]["tickets"] == 0.0
    assert {"usage_decline", "champion_left"} <= set(truth["strong"]) and "tickets" in truth["weak"]
    for frame in t.values():  # nothing dated outside the period but contract starts
        for col in ("date", "opened_at", "due_date"):
            if col in frame:
                days = pd.to_datetime(frame[col])
                assert days.min() >= pd.Timestamp(START) and days.max() <= pd.Timestamp(2026, 10, 31)


def test_churn_rate_in_a_sane_range(sample):
    out, t = sample
    o = t["outcomes"]
    per_renewal = (o["outcome"] == "churned").mean()
    assert 0.08 < per_renewal < 0.25
    assert json.loads((out / "truth.json").read_text())["churn_rate_per_renewal"] == pytest.approx(per_renewal,
                                                                                                    abs=1e-4)
    assert 0.02 < (o["outcome"] == "downgraded").mean() < 0.2
    # churn depends on segment through behaviour: SMB churns more than Enterprise
    seg = o.merge(t["accounts"][["account_id", "segment"]]).groupby("segment")["outcome"].apply(
        lambda s: (s == "churned").mean())
    assert seg["SMB"] > seg["Enterprise"]


def test_variety_a_cs_team_expects(sample):
    _, t = sample
    acc = t["accounts"]
    assert set(acc["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    assert 15 <= acc["csm_owner"].nunique() <= 25 and acc["region"].nunique() == 4
    med = acc.groupby("segment")["arr"].median()
    assert med["SMB"] < med["Mid-Market"] < med["Enterprise"]
    assert 0.5 < acc["marketing_consent"].mean() < 0.9
    inv = t["invoices"]["status"].value_counts()
    assert inv["failed"] > 0 and inv["late"] > 0 and 0 < inv["chargeback"] < 0.01 * inv.sum()
    assert t["tickets"]["escalated"].any()
    tp = t["touchpoints"]
    assert tp.loc[tp["kind"] == "nps_survey", "nps"].notna().any() and tp.loc[tp["kind"] == "nps_survey",
                                                                              "nps"].isna().any()
    assert tp["nps"].dropna().between(0, 10).all()
    never_qbr = set(acc["account_id"]) - set(tp.loc[tp["kind"] == "qbr", "account_id"])
    assert len(never_qbr) > 100
    assert (t["relationship_events"]["event"] == "champion_left").sum() > 20


def test_churned_accounts_stop_producing_activity(sample):
    _, t = sample
    churn = t["outcomes"].loc[t["outcomes"]["outcome"] == "churned", ["account_id", "date"]].rename(
        columns={"date": "churn"})
    for table, col in (("usage", "date"), ("tickets", "opened_at"), ("invoices", "due_date"),
                       ("touchpoints", "date"), ("relationship_events", "date"), ("outcomes", "date")):
        m = t[table].merge(churn, on="account_id")
        assert (m[col] <= m["churn"]).all(), table
    assert len(churn) == churn["account_id"].nunique()
    # the churned account's renewal_date is its churn date
    m = t["accounts"].merge(churn, on="account_id")
    assert (m["renewal_date"] == m["churn"]).all()


def _sql_drivers(sig: pd.DataFrame) -> pd.DataFrame:
    """The DRIVERS of truth.json computed from signals_table columns."""
    return pd.DataFrame({
        "usage_decline": (-sig["usage_change_30d"]).clip(0, 1).fillna(0.0),
        "champion_left": sig["champion_left_90d"].astype(float),
        "failed_payments": sig["failed_payments_30d"].clip(upper=2).astype(float),
        "negative_tickets": sig["negative_tickets_30d"].clip(upper=5).astype(float),
        "no_qbr_180d": (sig["days_since_qbr"].isna() | (sig["days_since_qbr"] > 180)).astype(float),
        "low_nps": (sig["last_nps"] <= 6).fillna(False).astype(float),
        "low_seat_utilization": (sig["seat_utilization"] < 0.4).fillna(False).astype(float),
        "escalations": sig["escalations_90d"].clip(upper=3).astype(float),
        "late_invoices": sig["late_invoices_90d"].clip(upper=3).astype(float),
        "tickets": sig["tickets_30d"].clip(upper=10).astype(float),
    }, index=sig.index)


@pytest.mark.parametrize("as_of", [date(2025, 3, 14), date(2026, 1, 9)])
def test_generator_drivers_equal_the_sql_signals(tmp_path, as_of):
    """The churn model's drivers (numpy) use the same definitions as riskcore/signals.py (SQL)."""
    s, e = S._day(START), S._day(START) + 729
    chunk = S._Chunk(np.random.default_rng(5), 0, 600, s, e)
    x = chunk.drivers(np.full(600, S._day(as_of), dtype=np.int64))
    for name, table in chunk.tables().items():
        table.to_pandas().to_parquet(tmp_path / f"{name}.parquet")
    store = Store()
    load_activity(store, tmp_path)
    sig = store.df(f"SELECT * FROM {signals_table(store, as_of)}").set_index("account_id")
    assert len(sig) > 300
    expected = pd.DataFrame(x, index=pd.Index([f"ACC-{i + 1:07d}" for i in range(600)], name="account_id"))
    expected = expected.loc[sig.index]
    pd.testing.assert_frame_equal(_sql_drivers(sig), expected[list(COEFFICIENTS)], check_dtype=False)


def test_truth_is_recoverable_from_the_renewals():
    """A logistic fit on the renewals finds the strong drivers strong and the weak ones weak."""
    s, e = S._day(START), S._day(START) + 729
    chunk = S._Chunk(np.random.default_rng(11), 0, 20000, s, e)
    X = np.vstack([a for a, _ in chunk.renewal_log])
    y = np.concatenate([b for _, b in chunk.renewal_log])
    fit = dict(zip(COEFFICIENTS, LogisticRegression(C=1e6, max_iter=5000).fit(X, y).coef_[0]))
    for name, true in COEFFICIENTS.items():
        if true >= 0.5:
            assert fit[name] == pytest.approx(true, rel=0.35), name
        elif true <= 0.1:
            assert abs(fit[name]) < 0.25, name


def test_ensure_sample_generates_once(tmp_path):
    target = tmp_path / "cache" / "sample-120-3"
    path = ensure_sample(120, seed=3, cache_dir=target)
    assert path == target and (target / "truth.json").exists()
    stamp = (target / "usage.parquet").stat().st_mtime_ns
    assert ensure_sample(120, seed=3, cache_dir=target) == target
    assert (target / "usage.parquet").stat().st_mtime_ns == stamp
    assert [p.name for p in target.parent.iterdir()] == ["sample-120-3"]  # no temp folder left


def test_bad_parameters_are_named(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        generate_sample(tmp_path, 10, fmt="xlsx")
    with pytest.raises(ValueError, match="n_accounts"):
        generate_sample(tmp_path, 0)
