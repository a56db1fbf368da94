"""Calendar periods the pages compare: month ends for an account's history, the previous period."""

from __future__ import annotations

import calendar
from datetime import date


def month_ends(as_of: date, months: int) -> list[date]:
    """The last day of each of the `months` months before `as_of`, oldest first, then `as_of`.

    >>> month_ends(date(2024, 3, 15), 2)
    [datetime.date(2024, 1, 31), datetime.date(2024, 2, 29), datetime.date(2024, 3, 15)]
    """
    out = [as_of]
    y, m = as_of.year, as_of.month
    for _ in range(months):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(date(y, m, calendar.monthrange(y, m)[1]))
    return sorted(out)


def previous_period(as_of: date) -> date:
    """The same day one month earlier (clamped to the month's end): the Overview's comparison date.

    >>> previous_period(date(2024, 3, 31))
    datetime.date(2024, 2, 29)
    """
    y, m = (as_of.year, as_of.month - 1) if as_of.month > 1 else (as_of.year - 1, 12)
    return date(y, m, min(as_of.day, calendar.monthrange(y, m)[1]))
