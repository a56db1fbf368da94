"""How the quadrant's value axis is named on every page and in the CLI: "ARR" only when it is the
mapped ARR (`value_column = "arr"`, annual); otherwise the column and its unit ("MonthlyCharges,
monthly"), so a monthly charge is never summed up and called ARR.

>>> from riskcore.rules import Quadrant
>>> value_name(Quadrant()).kpi, value_name(Quadrant("MonthlyCharges", value_unit="monthly")).kpi
('ARR', 'Value (MonthlyCharges, monthly)')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValueName:
    """The words for the value axis: `short` for headers and hovers ("ARR" or the column), `kpi` for
    a metric's label, `unit` as stated or defaulted (annual only for the mapped ARR)."""

    column: str
    unit: str
    is_arr: bool
    empty: bool = False  # no account has a value: say "value", never "ARR $0"

    @property
    def short(self) -> str:
        return "Value" if self.empty else "ARR" if self.is_arr else self.column

    @property
    def kpi(self) -> str:
        if self.empty:
            return "Value (none)"
        if self.is_arr:
            return "ARR"
        return f"Value ({self.column}, {self.unit})" if self.unit != "other" else f"Value ({self.column})"

    @property
    def axis(self) -> str:
        """Axis title for a log-scaled money axis."""
        unit = "" if self.is_arr or self.unit == "other" else f"{self.unit}, "
        return f"{self.short} ({unit}$, log scale)"


def value_name(quadrant: Any, source: str | None = None) -> ValueName:
    """Name of `quadrant`'s value (rules.Quadrant); `source`: the file's own name of the mapped ARR
    column, shown when the unit is not annual."""
    col = quadrant.value_column
    unit = quadrant.unit
    is_arr = col == "arr" and unit == "annual"
    shown = source if col == "arr" and source and not is_arr else col
    return ValueName(column=shown, unit=unit, is_arr=is_arr)


def value_phrase(quadrant: Any, has_values: bool = True, source: str | None = None) -> str:
    """One line saying which column the value is and what it is (CLI, captions)."""
    if not has_values:
        return (f"none (column {quadrant.value_column!r} has no values: map a value column as ARR, or set "
                "[quadrant] value_column and value_unit)")
    v = value_name(quadrant, source)
    if v.is_arr:
        return "ARR (the mapped value column, annual)"
    unit = {"other": "unit not stated: set [quadrant] value_unit"}.get(v.unit, v.unit)
    return f"{v.column} ({unit})"


def value_name_for(store: Any, rs: Any, has_values: bool = True) -> ValueName:
    """`value_name` of a rule set's quadrant on a loaded store (the mapped column's own name known);
    `has_values` False: the value axis is empty (no column, or no value in it)."""
    from dataclasses import replace
    ds = getattr(store, "dataset", None)
    mapping = getattr(ds, "mapping", None)
    name = value_name(rs.quadrant, getattr(mapping, "value_column", None))
    return name if has_values else replace(name, empty=True)
