"""Aggregates over scored tables: hand-computed values on the fixture, pandas on a random frame."""

from __future__ import annotations

import doctest
from datetime import date

import numpy as np
import pandas as pd
import pytest

import riskcore.aggregates as agg
from riskcore.aggregates import (QUADRANTS, TIERS, Filters, account_list, compile_filters, count_accounts,
                                 describe, kpis, movement_matrix, movers, quadrant_points, quadrant_summary,
                                 score_histogram, sortable_columns, tier_movement, tier_summary,
                                 tiers_by_segment, top_accounts)
from riskcore.fixtures import SCORED_AS_OF, SCORED_DIMENSIONS, load_scored, scored_store


@pytest.fixture(scope="module")
def store():
    s = scored_store()
    yield s
    s.close()


def _ids(df: pd.DataFrame) -> list[str]:
    return list(df["account_id"])


# -- hand-computed values on the fixture (see riskcore/fixtures.py, scored_frames) -----------

def test_tier_summary(store):
    df = tier_summary(store, "scored")
    assert list(df["tier"]) == ["low", "medium", "high"]
    assert list(df["accounts"]) == [3, 2, 3]
    assert list(df["value"]) == [84000.0, 80000.0, 155000.0]
    assert list(df["share"]) == pytest.approx([3 / 8, 2 / 8, 3 / 8])
    assert list(df["value_share"]) == pytest.approx([84 / 319, 80 / 319, 155 / 319])


def test_tier_summary_other_dimension_and_empty_tiers(store):
    df = tier_summary(store, "scored", dimension="payment")
    assert list(df["accounts"]) == [6, 1, 1] and list(df["value"]) == [310000.0, 4000.0, 5000.0]
    smb = tier_summary(store, "scored", filters=Filters(segment="SMB"))
    assert list(smb["tier"]) == ["low", "medium", "high"]
    assert list(smb["accounts"]) == [2, 0, 1] and list(smb["value"]) == [64000.0, 0.0, 5000.0]
    nobody = tier_summary(store, "scored", filters=Filters(owner="nobody"))
    assert list(nobody["accounts"]) == [0, 0, 0] and list(nobody["share"]) == [0.0, 0.0, 0.0]


def test_quadrant_summary(store):
    df = quadrant_summary(store, "scored")
    assert list(df["quadrant"]) == ["Save", "Expand", "Maintain", "Triage"]
    assert list(df["accounts"]) == [1, 2, 3, 2]
    assert list(df["value"]) == [120000.0, 140000.0, 24000.0, 35000.0]
    assert list(quadrant_summary(store, "scored", Filters(segment="SMB"))["accounts"]) == [0, 1, 1, 1]


def test_tiers_by_segment(store):
    df = tiers_by_segment(store, "scored")
    got = {(r.segment, r.tier): (r.accounts, r.value) for r in df.itertuples()}
    assert list(df["segment"].unique()) == ["(none)", "Enterprise", "Mid-Market", "SMB"]
    assert len(df) == 12  # every tier for every segment
    assert got[("Enterprise", "low")] == (0, 0.0)
    assert got[("Enterprise", "medium")] == (1, 80000.0)
    assert got[("Enterprise", "high")] == (1, 120000.0)
    assert got[("Mid-Market", "low")] == (1, 20000.0) and got[("Mid-Market", "high")] == (1, 30000.0)
    assert got[("SMB", "low")] == (2, 64000.0) and got[("SMB", "high")] == (1, 5000.0)
    assert got[("(none)", "medium")] == (1, 0.0)
    assert df[df.segment == "SMB"]["share"].tolist() == pytest.approx([2 / 3, 0.0, 1 / 3])


def test_kpis(store):
    assert kpis(store, "scored") == {
        "accounts": 8, "arr": 319000.0,
        "accounts_by_tier": {"low": 3, "medium": 2, "high": 3},
        "arr_at_risk": {"low": 84000.0, "medium": 80000.0, "high": 155000.0},
    }
    assert kpis(store, "scored", filters=Filters(owner="Ann"))["arr_at_risk"] == {
        "low": 0.0, "medium": 0.0, "high": 150000.0}


def test_tier_movement(store):
    df = tier_movement(store, "scored", "scored_b")
    assert list(zip(df.from_tier, df.to_tier)) == [(f, t) for f in TIERS for t in TIERS]
    m = movement_matrix(df)
    assert m.loc["low"].tolist() == [1, 0, 1]
    assert m.loc["medium"].tolist() == [1, 1, 0]
    assert m.loc["high"].tolist() == [0, 1, 2]
    v = movement_matrix(df, "value")
    assert v.loc["high"].tolist() == [0.0, 120000.0, 35000.0]
    assert v.loc["low"].tolist() == [60000.0, 0.0, 20000.0]
    assert df["accounts"].sum() == 7  # id06 gone and id09 new are in one table only


def test_movers(store):
    assert _ids(movers(store, "scored", "scored_b")) == ["id04", "id01", "id08"]
    one = movers(store, "scored", "scored_b", "high", "medium")
    assert one.iloc[0][["account_id", "from_tier", "to_tier", "from_score", "to_score", "change"]].tolist() == [
        "id01", "high", "medium", 85.0, 50.0, -35.0]
    assert _ids(movers(store, "scored", "scored_b", from_tier="high")) == ["id01", "id03", "id05"]
    assert _ids(movers(store, "scored", "scored_b", "high", "high")) == ["id03", "id05"]
    assert _ids(movers(store, "scored", "scored_b", limit=1)) == ["id04"]
    with pytest.raises(ValueError, match="from_tier: expected low | medium | high"):
        movers(store, "scored", "scored_b", from_tier="critical")


def test_score_histogram(store):
    df = score_histogram(store, "scored", bins=4)
    assert df["bin_start"].tolist() == [0.0, 25.0, 50.0, 75.0]
    assert df["bin_end"].tolist() == [25.0, 50.0, 75.0, 100.0]
    assert df["accounts"].tolist() == [2, 2, 2, 2]  # 100 falls in the last bin
    assert df["value"].tolist() == [24000.0, 140000.0, 30000.0, 125000.0]
    twenty = score_histogram(store, "scored")
    assert len(twenty) == 20 and twenty["accounts"].sum() == 8
    assert twenty.set_index("bin")["accounts"][[0, 2, 6, 9, 11, 14, 17, 19]].tolist() == [1] * 8
    with pytest.raises(ValueError, match="bins: expected a whole number"):
        score_histogram(store, "scored", bins=0)


# -- filters ------------------------------------------------------------------------------

def test_compile_filters_exact_sql():
    f = Filters(owner=("Ann", "Bo"), tier="high", dimension="payment", quadrant="save",
                renewal_within_days=60, as_of=SCORED_AS_OF, search="ac")
    sql, params = compile_filters(f)
    assert sql == ('"csm_owner" IN (?, ?) AND "payment_tier" IN (?) AND "quadrant" IN (?) '
                   'AND "renewal_date" BETWEEN ? AND ? '
                   'AND (strpos(lower(coalesce("account_name", \'\')), lower(?)) > 0 '
                   'OR strpos(lower("account_id"), lower(?)) > 0)')
    assert params == ["Ann", "Bo", "high", "Save", date(2024, 6, 1), date(2024, 7, 31), "ac", "ac"]
    assert compile_filters(Filters()) == ("TRUE", [])


def test_describe():
    assert describe(Filters()) == "all accounts"
    f = Filters(owner=("Ann", "Bo"), tier="high", dimension="churn", renewal_within_days=30,
                as_of=SCORED_AS_OF, search="acme")
    assert describe(f) == ('owner is Ann or Bo; churn tier is high; renewal within 30 days of 2024-06-01; '
                           'name or id contains "acme"')
    assert describe(Filters(quadrant=("Save", "Triage"))) == "quadrant is Save or Triage"


def test_doctests():
    assert doctest.testmod(agg).failed == 0


@pytest.mark.parametrize("filters, expected", [
    (Filters(owner="Ann"), ["id01", "id03", "id08"]),
    (Filters(owner=("Bo", "Cy")), ["id02", "id04", "id05", "id07"]),
    (Filters(segment="Mid-Market", tier="high"), ["id03"]),
    (Filters(tier="high", dimension="payment"), ["id05"]),
    (Filters(quadrant=("Triage", "save")), ["id01", "id03", "id05"]),
    (Filters(renewal_within_days=60, as_of=SCORED_AS_OF), ["id01", "id03", "id04"]),
    (Filters(renewal_within_days=0, as_of=SCORED_AS_OF), ["id03"]),
    (Filters(search="gAMma"), ["id03"]),
    (Filters(search="id05"), ["id05"]),
    (Filters(search="   "), [f"id0{i}" for i in range(1, 9)]),
    # hostile values are bound and match literally
    (Filters(owner="'; DROP TABLE x; --"), ["id06"]),
    (Filters(search="'"), ["id05"]),
    (Filters(search="O'B"), ["id05"]),
    (Filters(search="%"), ["id06"]),
    (Filters(search="_"), ["id06"]),
    (Filters(search='"x")'), ["id07"]),
    (Filters(segment="%"), []),
    (Filters(owner="A_n"), []),
    (Filters(owner="' OR '1'='1"), []),
])
def test_filters_select(store, filters, expected):
    got = account_list(store, "scored", filters, sort="account_id", descending=False, limit=100)
    assert _ids(got) == expected
    assert count_accounts(store, "scored", filters) == len(expected)
    assert store.has_table("scored")


def test_filter_values_checked():
    with pytest.raises(ValueError, match="filter 'tier': expected low | medium | high, found 'HIGH'"):
        Filters(tier="HIGH")
    with pytest.raises(ValueError, match="filter 'quadrant'"):
        Filters(quadrant="Rescue")
    with pytest.raises(ValueError, match="filter 'renewal_within_days'"):
        Filters(renewal_within_days=-1)
    with pytest.raises(ValueError, match="filter 'owner': expected text"):
        Filters(owner=(1,))


def test_alerted_since(store):
    store.register_df("alerts_t", pd.DataFrame({"account_id": ["id02", "id05", "id07"],
                                                "date": pd.to_datetime(["2024-05-01", "2024-05-20", "2024-06-02"])}))
    f = Filters(alerted_since=date(2024, 5, 15))
    got = account_list(store, "scored", f, sort="account_id", descending=False, alerts="alerts_t")
    assert _ids(got) == ["id05", "id07"]
    with pytest.raises(ValueError, match="needs an alerts table"):
        account_list(store, "scored", f)


# -- lists --------------------------------------------------------------------------------

def test_account_list_sorting_and_paging(store):
    by_tier = account_list(store, "scored", sort="tier", descending=False)
    assert _ids(by_tier) == ["id07", "id04", "id06", "id02", "id08", "id01", "id03", "id05"]
    by_value = account_list(store, "scored", sort="value")
    assert _ids(by_value) == ["id01", "id02", "id07", "id03", "id04", "id05", "id06", "id08"]  # NULL last
    assert _ids(account_list(store, "scored", sort="value", limit=3, offset=3)) == ["id03", "id04", "id05"]
    by_quadrant = account_list(store, "scored", sort="quadrant", descending=False)
    assert _ids(by_quadrant)[:3] == ["id01", "id02", "id07"]
    assert "reasons" in by_value.columns and "playbook" in by_value.columns
    assert _ids(top_accounts(store, "scored", n=3)) == ["id05", "id01", "id03"]


def test_account_list_rejects_unknown_sort_and_tables(store):
    assert "payment_score" in sortable_columns(store, "scored")
    with pytest.raises(ValueError, match="sort: expected one of"):
        account_list(store, "scored", sort="value; DROP TABLE scored")
    with pytest.raises(ValueError, match="sort: expected one of"):
        account_list(store, "scored", sort="reasons")
    with pytest.raises(ValueError, match="invalid table name"):
        tier_summary(store, 'scored"; DROP TABLE scored; --')
    with pytest.raises(ValueError, match="no scored table 'nope'"):
        tier_summary(store, "nope")
    with pytest.raises(ValueError, match="no column 'mood_tier'"):
        tier_summary(store, "scored", dimension="mood")
    with pytest.raises(ValueError, match="limit: expected a whole number >= 1"):
        account_list(store, "scored", limit=0)


# -- quadrant chart -----------------------------------------------------------------------

def test_quadrant_points_all_points(store):
    qp = quadrant_points(store, "scored")
    assert qp.mode == "points" and qp.total == 7
    assert _ids(qp.points) == ["id01", "id02", "id03", "id04", "id05", "id06", "id07"]  # id08 has no value
    assert qp.counts["accounts"].tolist() == [1, 2, 3, 2]  # exact, id08 included
    assert qp.notes == ("1 account(s) without a value or score not drawn",)
    assert qp.points.loc[0, ["tier", "csm_owner"]].tolist() == ["high", "Ann"]


def test_value_cutoff(store):
    from types import SimpleNamespace as NS
    assert agg.value_cutoff(store, "scored", NS(quadrant=NS(value_cutoff="median"))) == 30000.0
    assert agg.value_cutoff(store, "scored", NS(quadrant=NS(value_cutoff=50000))) == 50000.0


def test_quadrant_points_grid(store):
    qp = quadrant_points(store, "scored", max_points=3, grid_size=2)
    assert qp.mode == "grid" and qp.points is None
    cells = {(r.x0, r.y0): (r.accounts, r.value) for r in qp.grid.itertuples()}
    assert cells == {(4000.0, 0.0): (3, 84000.0), (4000.0, 50.0): (2, 35000.0),
                     (62000.0, 0.0): (1, 80000.0), (62000.0, 50.0): (1, 120000.0)}
    assert qp.grid["x1"].max() == 120000.0
    assert qp.counts["accounts"].tolist() == [1, 2, 3, 2]
    log = quadrant_points(store, "scored", max_points=3, grid_size=2, value_scale="log")
    assert log.grid["accounts"].sum() == 7
    assert log.grid["x0"].min() == pytest.approx(4000.0) and log.grid["x1"].max() == pytest.approx(120000.0)


# -- an independent pandas computation on a random seeded frame ---------------------------

def _random_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 101, n).astype(float)
    value = rng.lognormal(10, 1, n).round(2)
    value[rng.random(n) < 0.05] = np.nan
    df = pd.DataFrame({
        "account_id": [f"r{i:05d}" for i in range(n)],
        "account_name": [f"Name {i}" for i in range(n)],
        "segment": rng.choice(np.array(["SMB", "Mid-Market", "Enterprise", None], dtype=object), n,
                              p=[0.5, 0.3, 0.15, 0.05]),
        "csm_owner": rng.choice([f"csm{i}" for i in range(7)], n),
        "stage": "adopted", "value": value, "renewal_date": pd.Timestamp("2024-06-01")
        + pd.to_timedelta(rng.integers(-30, 400, n), unit="D"),
        "marketing_consent": rng.random(n) < 0.5, "risk_score": score,
        "tier": np.where(score >= 61, "high", np.where(score >= 31, "medium", "low")),
        "quadrant": rng.choice(list(QUADRANTS[:3]), n),  # Triage left empty on purpose
        "reasons": [[] for _ in range(n)], "playbook": "maintain",
    })
    for dim in SCORED_DIMENSIONS:
        s = df["risk_score"] if dim == "churn" else rng.integers(0, 101, n).astype(float)
        df[f"{dim}_score"] = s
        df[f"{dim}_tier"] = np.where(s >= 61, "high", np.where(s >= 31, "medium", "low"))
    return df


@pytest.fixture(scope="module")
def random_store(store):
    a = _random_frame(1000, seed=7)
    b = _random_frame(1000, seed=8)
    b["account_id"] = [f"r{i:05d}" for i in range(100, 1100)]  # 900 in common
    a["reasons"] = [[] for _ in range(len(a))]
    load_scored(store, "rand_a", a)
    load_scored(store, "rand_b", b)
    return store, a, b


def _expected_by(df: pd.DataFrame, key: str, order) -> pd.DataFrame:
    g = df.groupby(key)
    out = pd.DataFrame({"accounts": g.size(), "value": g["value"].sum()}).reindex(list(order)).fillna(0)
    return out


def test_random_tier_and_quadrant_summaries_match_pandas(random_store):
    store, a, _ = random_store
    for dim in (None, "payment"):
        col = "tier" if dim is None else f"{dim}_tier"
        exp = _expected_by(a, col, TIERS)
        got = tier_summary(store, "rand_a", dimension=dim).set_index("tier")
        assert got["accounts"].tolist() == exp["accounts"].astype(int).tolist()
        assert got["value"].tolist() == pytest.approx(exp["value"].tolist(), rel=1e-9)
        assert got["share"].tolist() == pytest.approx((exp["accounts"] / len(a)).tolist())
    exp = _expected_by(a, "quadrant", QUADRANTS)
    got = quadrant_summary(store, "rand_a").set_index("quadrant")
    assert got.index.tolist() == list(QUADRANTS) and got.loc["Triage", "accounts"] == 0
    assert got["accounts"].tolist() == exp["accounts"].astype(int).tolist()
    assert got["value"].tolist() == pytest.approx(exp["value"].tolist(), rel=1e-9)


def test_random_kpis_and_segments_match_pandas(random_store):
    store, a, _ = random_store
    k = kpis(store, "rand_a")
    assert k["accounts"] == len(a) and k["arr"] == pytest.approx(a["value"].sum(), rel=1e-9)
    for t in TIERS:
        assert k["arr_at_risk"][t] == pytest.approx(a.loc[a.tier == t, "value"].sum(), rel=1e-9)
    got = tiers_by_segment(store, "rand_a").set_index(["segment", "tier"])
    seg = a.assign(segment=a["segment"].fillna("(none)"))
    exp = seg.groupby(["segment", "tier"]).agg(accounts=("account_id", "size"), value=("value", "sum"))
    full = pd.MultiIndex.from_product([sorted(seg["segment"].unique()), TIERS])
    exp = exp.reindex(full).fillna(0)
    assert got.index.tolist() == full.tolist()
    assert got["accounts"].tolist() == exp["accounts"].astype(int).tolist()
    assert got["value"].tolist() == pytest.approx(exp["value"].tolist(), rel=1e-9)


def test_random_movement_and_movers_match_pandas(random_store):
    store, a, b = random_store
    j = a[["account_id", "tier", "risk_score"]].merge(b[["account_id", "tier", "value", "risk_score"]],
                                                       on="account_id", suffixes=("_a", "_b"))
    exp = pd.crosstab(j["tier_a"], j["tier_b"]).reindex(index=list(TIERS), columns=list(TIERS)).fillna(0)
    got = tier_movement(store, "rand_a", "rand_b")
    assert movement_matrix(got).values.tolist() == exp.values.tolist()
    exp_v = j.pivot_table(index="tier_a", columns="tier_b", values="value", aggfunc="sum")
    exp_v = exp_v.reindex(index=list(TIERS), columns=list(TIERS)).fillna(0)
    np.testing.assert_allclose(movement_matrix(got, "value").values, exp_v.values, rtol=1e-9)
    moved = j[j.tier_a != j.tier_b]
    all_movers = movers(store, "rand_a", "rand_b", limit=10_000)
    assert sorted(all_movers["account_id"]) == sorted(moved["account_id"])
    cell = movers(store, "rand_a", "rand_b", "low", "high", limit=10_000)
    assert len(cell) == exp.loc["low", "high"]
    changes = cell["change"].abs().tolist()
    assert changes == sorted(changes, reverse=True)


def test_random_histogram_and_lists_match_pandas(random_store):
    store, a, _ = random_store
    got = score_histogram(store, "rand_a", bins=20)
    edges = np.linspace(0, 100, 21)
    exp = np.histogram(a["risk_score"], bins=edges)[0]  # numpy: last bin closed, like ours
    assert got["accounts"].tolist() == exp.tolist()
    f = Filters(owner=("csm1", "csm2"), tier=("high", "medium"), renewal_within_days=90,
                as_of=date(2024, 6, 1), segment=("SMB", "Enterprise"))
    in_window = (a.renewal_date >= "2024-06-01") & (a.renewal_date <= "2024-08-30")
    exp_rows = a[a.csm_owner.isin(["csm1", "csm2"]) & a.tier.isin(["high", "medium"]) & in_window
                 & a.segment.isin(["SMB", "Enterprise"])]
    assert count_accounts(store, "rand_a", f) == len(exp_rows)
    exp_top = exp_rows.sort_values(["risk_score", "value", "account_id"], ascending=[False, False, True],
                                   na_position="last")["account_id"].head(25).tolist()
    assert _ids(top_accounts(store, "rand_a", n=25, filters=f)) == exp_top
    qp = quadrant_points(store, "rand_a", max_points=100, grid_size=10)
    assert qp.mode == "grid" and qp.grid["accounts"].sum() == a["value"].notna().sum()
    assert qp.counts["accounts"].sum() == len(a)


def test_hostile_dimension_is_checked_against_columns(store):
    with pytest.raises(ValueError, match="needs column"):
        account_list(store, "scored", Filters(tier="high", dimension='churn_tier" OR 1=1; --'))
    with pytest.raises(ValueError, match="has no column"):
        tier_summary(store, "scored", dimension="x\"; DROP TABLE scored; --")
    assert store.has_table("scored")
