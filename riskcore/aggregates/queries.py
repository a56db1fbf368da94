"""The fixed report queries of the summaries, as named SQL templates: identifiers are filled in as
{name} (already quoted), values stay `?`. Tier and quadrant lists are joined to the data so every
tier / quadrant appears even with no account."""

from __future__ import annotations

from ..rules.model import QUADRANTS, TIERS


def _ordered(names: tuple[str, ...]) -> str:
    """`('low', 1), ('medium', 2), ...`: fixed names (word characters only) with their order."""
    return ", ".join(f"('{n}', {i})" for i, n in enumerate(names, 1))


# Fixed lists joined to the data so every tier / quadrant appears even with no account.
TIER_LIST = f"(VALUES {_ordered(TIERS)}) AS t(tier, ord)"
QUADRANT_LIST = f"(VALUES {_ordered(QUADRANTS)}) AS q(quadrant, ord)"


TIER_SUMMARY = """
SELECT t.tier, count(s.account_id) AS accounts, coalesce(sum(s.value), 0.0) AS value
FROM {tiers} LEFT JOIN (SELECT * FROM {table} WHERE {where}) AS s ON s.{tier} = t.tier
GROUP BY t.tier, t.ord ORDER BY t.ord
"""

QUADRANT_SUMMARY = """
SELECT q.quadrant, count(s.account_id) AS accounts, coalesce(sum(s.value), 0.0) AS value
FROM {quadrants} LEFT JOIN (SELECT * FROM {table} WHERE {where}) AS s ON s.quadrant = q.quadrant
GROUP BY q.quadrant, q.ord ORDER BY q.ord
"""

TIERS_BY_SEGMENT = """
WITH s AS (SELECT coalesce(CAST(segment AS VARCHAR), ?) AS segment, {tier} AS tier, account_id, value
           FROM {table} WHERE {where}),
     seg AS (SELECT DISTINCT segment FROM s)
SELECT seg.segment, t.tier, count(s.account_id) AS accounts, coalesce(sum(s.value), 0.0) AS value
FROM seg CROSS JOIN {tiers} LEFT JOIN s ON s.segment = seg.segment AND s.tier = t.tier
GROUP BY seg.segment, t.tier, t.ord ORDER BY seg.segment, t.ord
"""

KPIS = ("""
SELECT count(*) AS accounts, coalesce(sum(value), 0.0) AS arr,
""" + "".join(f"       count(*) FILTER (WHERE {{tier}} = '{t}') AS accounts_{t},\n" for t in TIERS)
    + ",\n".join(f"       coalesce(sum(value) FILTER (WHERE {{tier}} = '{t}'), 0.0) AS arr_{t}" for t in TIERS) + """
FROM {table} WHERE {where}
""")

TIER_MOVEMENT = """
WITH j AS (SELECT a.{tier_a} AS from_tier, b.{tier_b} AS to_tier, b.value
           FROM {a} AS a JOIN (SELECT * FROM {b} WHERE {where}) AS b ON a.account_id = b.account_id)
SELECT f.tier AS from_tier, t.tier AS to_tier, count(j.from_tier) AS accounts,
       coalesce(sum(j.value), 0.0) AS value
FROM (VALUES """ + _ordered(TIERS) + """) AS f(tier, ord)
CROSS JOIN {tiers}
LEFT JOIN j ON j.from_tier = f.tier AND j.to_tier = t.tier
GROUP BY f.tier, f.ord, t.tier, t.ord ORDER BY f.ord, t.ord
"""

MOVERS = """
SELECT b.account_id, b.account_name, b.segment, b.csm_owner, b.value,
       a.{tier_a} AS from_tier, b.{tier_b} AS to_tier,
       a.{score_a} AS from_score, b.{score_b} AS to_score, b.{score_b} - a.{score_a} AS change
FROM {a} AS a JOIN (SELECT * FROM {b} WHERE {filters}) AS b ON a.account_id = b.account_id
WHERE {where}
ORDER BY abs(b.{score_b} - a.{score_a}) DESC NULLS LAST, b.value DESC NULLS LAST, b.account_id
LIMIT ?
"""

SCORE_HISTOGRAM = """
WITH s AS (SELECT least(greatest(floor({score} * ? / 100.0), 0), ? - 1)::BIGINT AS bin, value
           FROM {table} WHERE {score} IS NOT NULL AND {where})
SELECT r.range AS bin, r.range * 100.0 / ? AS bin_start, (r.range + 1) * 100.0 / ? AS bin_end,
       count(s.bin) AS accounts, coalesce(sum(s.value), 0.0) AS value
FROM range(?) AS r LEFT JOIN s ON s.bin = r.range
GROUP BY r.range ORDER BY r.range
"""


QUADRANT_GRID = """
WITH s AS (SELECT {vx} AS x, risk_score AS y, value FROM {table}
           WHERE value IS NOT NULL AND risk_score IS NOT NULL AND {where}),
     cells AS (SELECT least(floor((x - ?) / ?), ? - 1)::BIGINT AS ix,
                      least(floor(y * ? / 100.0), ? - 1)::BIGINT AS iy, value FROM s)
SELECT ix, iy, count(*) AS accounts, sum(value) AS value FROM cells GROUP BY ix, iy ORDER BY ix, iy
"""
