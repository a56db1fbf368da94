"""How much of a rule set can run on the loaded data: a set written for other data scores every
account 0 on the rules it cannot run, and a page must say so rather than show zeros as if measured."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Store


@dataclass(frozen=True)
class Coverage:
    """The rules of a rule set that cannot run on a table (`rules.Unavailable`: id and why), of `total`."""

    total: int
    unavailable: tuple  # rules.Unavailable, file order

    @property
    def mostly_unavailable(self) -> bool:
        """More than half of the rules cannot run: the scores say more about the rule set than the data."""
        return self.total > 0 and 2 * len(self.unavailable) > self.total

    def banner(self) -> str:
        """The line every page shows when most rules cannot run.

        >>> from riskcore.rules import Unavailable
        >>> Coverage(21, tuple(Unavailable(f"r{i}", "") for i in range(12))).banner()
        '12 of 21 rules cannot run on this data: every account scores 0 on them'
        """
        return f"{len(self.unavailable)} of {self.total} rules cannot run on this data: every account scores 0 on them"

    def publish_warning(self, dataset: str, shown: int = 5) -> str | None:
        """What publishing this rule set for `dataset` would mean, naming the first `shown` rules; None
        when every rule can run.

        >>> from riskcore.rules import Unavailable
        >>> Coverage(8, tuple(Unavailable(i, "") for i in ("a", "b", "c"))).publish_warning("telco.csv")
        "3 of 8 rules cannot run on telco.csv: 'a', 'b', 'c' (every account scores 0 on them)"
        """
        if not self.unavailable:
            return None
        ids = [repr(p.id) for p in self.unavailable]
        more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
        return (f"{len(ids)} of {self.total} rules cannot run on {dataset}: {', '.join(ids[:shown])}{more} "
                "(every account scores 0 on them)")


def rule_coverage(store: Store, rs, table: str) -> Coverage:
    """Which rules of `rs` cannot run on `table` (a signals table or the account table), checked as
    scoring checks them (`scoring.column_facts`: missing, empty, of a type the op cannot use)."""
    from .rules import rule_problems
    from .scoring import column_facts
    return Coverage(total=len(rs.rules), unavailable=tuple(rule_problems(rs, column_facts(store, table, rs))))
