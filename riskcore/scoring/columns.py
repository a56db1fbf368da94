"""What a rule set can use of a table: its columns with their types (ColumnFacts) and the rules
that can run on them; every compile of a rule set against data checks these first."""

from __future__ import annotations

from typing import Iterable

from ..db import Store, quote_ident, safe_table_name
from ..expressions import TEXT, ColumnFacts
from ..rules import Rule, RuleSet, rule_problems, segment_problems, signal_columns, unavailable_rules, validate_ruleset

_q = quote_ident  # short: the SQL below reads better

# account attributes carried through both stages: (column, type); NULL when the data lacks them
ATTRIBUTES = (("account_id", "VARCHAR"), ("account_name", "VARCHAR"), ("segment", "VARCHAR"),
              ("csm_owner", "VARCHAR"), ("stage", "VARCHAR"), ("value", "DOUBLE"), ("renewal_date", "DATE"),
              ("marketing_consent", "BOOLEAN"))


def available_rules(rs: RuleSet, columns: Iterable[str]) -> list[Rule]:
    """Rules (enabled or not) that can run on these columns: they get firings columns. With
    ColumnFacts (`column_facts`) that includes the type check, so no engine error can surface."""
    missing = set(unavailable_rules(rs, columns))
    return [r for r in rs.rules if r.id not in missing]


def _is_account_table(store: Store) -> bool:
    return store.dataset is not None and store.dataset.kind == "account_table"


def column_facts(store: Store, table: str, rs: RuleSet | None = None) -> ColumnFacts:
    """The columns of `table` with their types: what every compile of `rs` against data checks.

    For an account table also which of the columns `rs` reads hold no value at all (a blank export
    column: its rules are unavailable; an all-NULL activity signal is a real NULL, `null_fires`
    decides), and for each text column a rule misuses an example value for the message ('1,234').
    """
    facts = ColumnFacts(store.column_types(table))
    if rs is None:
        return facts
    used: list[str] = []
    for item in rs.rules + rs.behavior_segments:
        for c in signal_columns(item.signal, facts):
            real = c if c in facts else next((x for x in facts if x.lower() == c.lower()), None)
            if real is not None and real not in used:
                used.append(real)
    src = _q(safe_table_name(table))
    empty: frozenset = frozenset()
    if used and _is_account_table(store):
        counts = store.rows(f"SELECT {', '.join(f'count({_q(c)})' for c in used)} FROM {src}")[0]
        empty = frozenset(c for c, n in zip(used, counts) if n == 0)
        facts = ColumnFacts(facts.types, empty=empty)
    texts = [p.column for p in rule_problems(rs, facts) + segment_problems(rs, facts)
             if p.column is not None and p.column in facts and facts.kind(p.column) == TEXT]
    texts = list(dict.fromkeys(texts))
    if texts:  # an example that is not a number says most (e.g. '1,234'); else any value
        row = store.rows("SELECT " + ", ".join(
            f"COALESCE(min({_q(c)}) FILTER (WHERE TRY_CAST({_q(c)} AS DOUBLE) IS NULL), min({_q(c)}))"
            for c in texts) + f" FROM {src}")[0]
        facts = ColumnFacts(facts.types, empty=empty,
                            examples={c: v for c, v in zip(texts, row) if v is not None})
    return facts


def scoring_notes(rs: RuleSet, columns: Iterable[str]) -> list[str]:
    """What the user should know before trusting the scores: unavailable rules and other gaps."""
    return validate_ruleset(rs, columns)
