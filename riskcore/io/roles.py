"""The mapped roles of an account table (id, value, renewal date, outcome) checked in SQL over the
staged raw text, and the canonical columns built from them (`canonical_sql`)."""

from __future__ import annotations

import re

from ..db import Mapping, Store
from ..mapping import classify_outcome, resolve_mapping
from ..report import Problem, Report
from .columns import BLANKS
from .problems import SHOWN, Stop, rows_text
from .readers import cell_text

RAW = "_stage_account_raw"  # the mapped role columns as trimmed text, one row per file row
CURRENCY_RE = r"\s*[-+]?\s*[$€£¥]?\s*[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*(USD|EUR|GBP)?\s*"
DATE_FORMATS = "YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY"


def resolve_roles(names: list[str], explicit: Mapping | None, file: str, report: Report) -> Mapping:
    mapping, missing = resolve_mapping(names, explicit)
    shown = ", ".join(repr(n) for n in names[:30]) + (f", ... ({len(names)} columns)" if len(names) > 30 else "")
    for role, wanted in missing:
        report.add(Problem(file, f"the {role.replace('_column', '')} column {wanted!r} is not in the file; "
                           f"available columns: {shown}", column=wanted, expected="one of the file's columns",
                           found=wanted))
    if explicit is not None and explicit.outcome_positive and mapping.outcome_column is None and not missing:
        report.add(Problem(file, "outcome_positive is set but there is no outcome column; set outcome_column",
                           expected="an outcome column", found="none"))
    if not report.ok:
        raise Stop
    return mapping


def check_roles(store: Store, mapping: Mapping, file: str, report: Report) -> tuple[list[str], str | None]:
    """Check id, value, renewal and outcome; returns (positive outcome values, slash date format)."""
    if mapping.id_column:
        _check_ids(store, mapping.id_column, file, report)
    if mapping.value_column:
        _check_value(store, mapping.value_column, file, report)
    slash = _check_dates(store, mapping.renewal_column, file, report) if mapping.renewal_column else None
    positive = _check_outcome(store, mapping, file, report) if mapping.outcome_column else []
    return positive, slash


def _check_ids(store: Store, column: str, file: str, report: Report) -> None:
    blank = [r[0] for r in store.rows(f"SELECT __row FROM {RAW} WHERE id_column IS NULL ORDER BY __row")]
    if blank:
        report.add(Problem(file, f"{len(blank):,} row(s) have no account id: rows {rows_text(blank)}", row=blank[0],
                           column=column, expected="an account id in every row", found="a blank cell"))
    dups = store.rows(
        f"SELECT id_column, list(__row ORDER BY __row), count(*) OVER () FROM {RAW} WHERE id_column IS NOT NULL "
        "GROUP BY id_column HAVING count(*) > 1 ORDER BY min(__row) LIMIT ?", [SHOWN])
    for value, rows, total in dups:
        report.add(Problem(file, f"account id {value!r} appears in rows {rows_text(rows)}"
                           + (f" ({total} ids are duplicated)" if total > 1 else ""),
                           row=rows[1], column=column, expected="each account id once", found=value))


_VALUE_SQL = f"""
WITH v AS (
  SELECT __row, value_column AS text,
         CASE WHEN NOT isfinite(value_number) THEN 'nonfinite'
              WHEN value_column IS NULL OR lower(value_column) IN ({", ".join("'" + b + "'" for b in BLANKS)})
                THEN NULL
              WHEN NOT isfinite(TRY_CAST(value_column AS DOUBLE)) THEN 'nonfinite'
              WHEN TRY_CAST(value_column AS DOUBLE) IS NOT NULL THEN 'plain'
              WHEN regexp_full_match(value_column, '{CURRENCY_RE}') THEN 'currency'
              ELSE 'bad' END AS kind
  FROM {RAW}),
n AS (
  SELECT *, CASE kind WHEN 'plain' THEN TRY_CAST(text AS DOUBLE)
                      WHEN 'currency' THEN TRY_CAST(regexp_replace(text, '[^0-9.+-]', '', 'g') AS DOUBLE) END AS num
  FROM v)
SELECT CASE WHEN num < 0 THEN 'negative' ELSE coalesce(kind, 'blank') END AS k, count(*),
       list(__row ORDER BY __row)[1:{SHOWN + 1}], list(text ORDER BY __row)[1:{SHOWN + 1}]
FROM n GROUP BY k
"""


def _value_expr() -> str:
    return ("CASE WHEN TRY_CAST(value_column AS DOUBLE) IS NOT NULL AND lower(value_column) NOT IN ('nan') "
            "THEN TRY_CAST(value_column AS DOUBLE) "
            f"WHEN regexp_full_match(value_column, '{CURRENCY_RE}') "
            "THEN TRY_CAST(regexp_replace(value_column, '[^0-9.+-]', '', 'g') AS DOUBLE) END")


def _check_value(store: Store, column: str, file: str, report: Report) -> None:
    kinds = {k: (n, rows, texts) for k, n, rows, texts in store.rows(_VALUE_SQL)}
    if "bad" in kinds:
        n, rows, texts = kinds["bad"]
        report.add(Problem(file, f"{n:,} value(s) are not numbers: rows {rows_text(rows)}", row=rows[0],
                           column=column, expected="a number like 1200.50 or $1,200.50", found=texts[0]))
    if "nonfinite" in kinds:
        n, rows, texts = kinds["nonfinite"]
        report.add(Problem(file, f"{n:,} value(s) are not finite numbers (infinity, NaN or too large): rows "
                           f"{rows_text(rows)}", row=rows[0], column=column, expected="a finite number like 1200.50",
                           found=texts[0]))
    if "negative" in kinds:
        n, rows, texts = kinds["negative"]
        report.add(Problem(file, f"{n} negative value(s): rows {rows_text(rows)}", row=rows[0], column=column,
                           expected="a value >= 0", found=texts[0]))
    if "currency" in kinds:
        n, rows, texts = kinds["currency"]
        report.add(Problem(file, f"{n:,} value(s) written as currency text were read as numbers (e.g. {texts[0]!r} "
                           f"-> {cell_text(float(re.sub(r'[^0-9.+-]', '', texts[0])))}): rows {rows_text(rows)}",
                           row=rows[0], column=column, expected="a plain number", found=texts[0],
                           severity="warning"))
    if "blank" in kinds:
        n, rows, _ = kinds["blank"]
        report.add(Problem(file, f"{n:,} account(s) have no value (arr is empty): rows {rows_text(rows)}",
                           row=rows[0], column=column, expected="a number", found="a blank cell",
                           severity="warning"))


_DATES_SQL = f"""
WITH d AS (
  SELECT __row, renewal_column AS text,
    CASE WHEN regexp_full_match(renewal_column, '\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}([ T].*)?')
           THEN CASE WHEN TRY_STRPTIME(regexp_extract(renewal_column, '^\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}'), '%Y-%m-%d')
                     IS NULL THEN 'bad' ELSE 'iso' END
         WHEN regexp_full_match(renewal_column, '\\d{{4}}/\\d{{1,2}}/\\d{{1,2}}')
           THEN CASE WHEN TRY_STRPTIME(renewal_column, '%Y/%m/%d') IS NULL THEN 'bad' ELSE 'iso' END
         WHEN regexp_full_match(renewal_column, '\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{4}}')
           THEN CASE WHEN TRY_STRPTIME(renewal_column, '%d.%m.%Y') IS NULL THEN 'bad' ELSE 'dot' END
         WHEN regexp_full_match(renewal_column, '\\d{{1,2}}/\\d{{1,2}}/\\d{{4}}')
           THEN CASE WHEN TRY_STRPTIME(renewal_column, '%m/%d/%Y') IS NOT NULL
                          AND TRY_STRPTIME(renewal_column, '%d/%m/%Y') IS NOT NULL THEN 'slash_either'
                     WHEN TRY_STRPTIME(renewal_column, '%m/%d/%Y') IS NOT NULL THEN 'slash_us'
                     WHEN TRY_STRPTIME(renewal_column, '%d/%m/%Y') IS NOT NULL THEN 'slash_dayfirst'
                     ELSE 'bad' END
         ELSE 'bad' END AS kind
  FROM {RAW} WHERE renewal_column IS NOT NULL)
SELECT kind, count(*), list(__row ORDER BY __row)[1:{SHOWN + 1}], list(text ORDER BY __row)[1:{SHOWN + 1}]
FROM d GROUP BY kind
"""


def _date_expr() -> str:
    """renewal_column as DATE; the parameter is the chosen format for d/d/yyyy values."""
    return ("CAST(CASE WHEN regexp_full_match(renewal_column, '\\d{4}-\\d{1,2}-\\d{1,2}([ T].*)?') "
            "THEN TRY_STRPTIME(regexp_extract(renewal_column, '^\\d{4}-\\d{1,2}-\\d{1,2}'), '%Y-%m-%d') "
            "WHEN regexp_full_match(renewal_column, '\\d{4}/\\d{1,2}/\\d{1,2}') "
            "THEN TRY_STRPTIME(renewal_column, '%Y/%m/%d') "
            "WHEN regexp_full_match(renewal_column, '\\d{1,2}\\.\\d{1,2}\\.\\d{4}') "
            "THEN TRY_STRPTIME(renewal_column, '%d.%m.%Y') "
            "WHEN regexp_full_match(renewal_column, '\\d{1,2}/\\d{1,2}/\\d{4}') "
            "THEN TRY_STRPTIME(renewal_column, ?) END AS DATE)")


def _check_dates(store: Store, column: str, file: str, report: Report) -> str | None:
    """Detect the column's date format; returns the strptime format for slash dates (None if none)."""
    kinds = {k: (n, rows, texts) for k, n, rows, texts in store.rows(_DATES_SQL)}
    if "bad" in kinds:
        n, rows, texts = kinds["bad"]
        report.add(Problem(file, f"{n:,} date(s) could not be read: rows {rows_text(rows)}", row=rows[0],
                           column=column, expected=f"a date ({DATE_FORMATS})", found=texts[0]))
    us, dayfirst = kinds.get("slash_us"), kinds.get("slash_dayfirst")
    if us and dayfirst:
        report.add(Problem(file, f"dates mix month-first and day-first: row {us[1][0]} ({us[2][0]!r}) only works "
                           f"as MM/DD/YYYY, row {dayfirst[1][0]} ({dayfirst[2][0]!r}) only as DD/MM/YYYY; use one "
                           "format (ISO YYYY-MM-DD is safest)", row=dayfirst[1][0], column=column,
                           expected="one date format per column", found=dayfirst[2][0]))
        return None
    families = [f for f, present in (("ISO", "iso" in kinds), ("DD.MM.YYYY", "dot" in kinds),
                                     ("slashed", any(k.startswith("slash") for k in kinds))) if present]
    if len(families) > 1:
        report.add(Problem(file, f"the column mixes date formats ({', '.join(families)}); each value was read in "
                           "its own format", column=column, expected="one date format", found=", ".join(families),
                           severity="warning"))
    if dayfirst:
        report.add(Problem(file, f"dates with '/' read as DD/MM/YYYY because e.g. row {dayfirst[1][0]} "
                           f"({dayfirst[2][0]!r}) cannot be month-first", row=dayfirst[1][0], column=column,
                           expected="a date", found=dayfirst[2][0], severity="warning"))
        return "%d/%m/%Y"
    if "slash_either" in kinds and not us:
        n, rows, texts = kinds["slash_either"]
        report.add(Problem(file, f"dates like {texts[0]!r} could be month-first or day-first; read as MM/DD/YYYY "
                           "(US). Use YYYY-MM-DD to be unambiguous", row=rows[0], column=column,
                           expected="an unambiguous date", found=texts[0], severity="warning"))
    return "%m/%d/%Y"


def _check_outcome(store: Store, mapping: Mapping, file: str, report: Report) -> list[str]:
    column = mapping.outcome_column
    values = store.rows(f"SELECT outcome_column, min(__row), count(*) FROM {RAW} WHERE outcome_column IS NOT NULL "
                        "AND lower(outcome_column) NOT IN ('na', 'n/a', 'null', 'none', 'nan') "
                        "GROUP BY outcome_column ORDER BY 2 LIMIT 1001")
    if len(values) > 1000:
        report.add(Problem(file, "the outcome column has more than 1000 different values", column=column,
                           expected="yes/no values (Yes/No, TRUE/FALSE, 1/0, churned/active)",
                           found="over 1000 values"))
        return []
    first_row = {v: r for v, r, _ in values}
    positive, unexpected = classify_outcome([v for v, _, _ in values], mapping.outcome_positive)
    if unexpected:
        listed = ", ".join(f"{v!r} (row {first_row[v]})" for v in unexpected[:SHOWN])
        report.add(Problem(file, f"unexpected outcome value(s): {listed}; set outcome_positive (e.g. "
                           "--outcome-positive) to say which values mean churned", row=first_row[unexpected[0]],
                           column=column, expected="yes/no values (Yes/No, TRUE/FALSE, 1/0, Y/N, churned/active)",
                           found=unexpected[0]))
    if mapping.outcome_positive and not positive:
        report.add(Problem(file, f"no value of the outcome column matches outcome_positive "
                           f"{', '.join(mapping.outcome_positive)}; values found: "
                           f"{', '.join(repr(v) for v, _, _ in values[:10])}", column=column,
                           expected=" or ".join(mapping.outcome_positive), found=values[0][0] if values else None))
    blank = store.rows(f"SELECT count(*), list(__row ORDER BY __row)[1:{SHOWN + 1}] FROM {RAW} "
                       "WHERE outcome_column IS NULL OR lower(outcome_column) IN ('na', 'n/a', 'null', 'none', 'nan')")
    if blank and blank[0][0]:
        report.add(Problem(file, f"{blank[0][0]:,} row(s) have no outcome (churned is empty): rows "
                           f"{rows_text(blank[0][1])}", row=blank[0][1][0], column=column,
                           expected="a yes/no value", found="a blank cell", severity="warning"))
    return list(positive)


def canonical_sql(mapping: Mapping, positive: list[str], slash_format: str | None) -> tuple[str, list]:
    """One row per account, ordered by file row: the canonical columns of the mapped roles."""
    params: list = []
    parts = ["__row",
             ("id_column" if mapping.id_column else "CAST(__row AS VARCHAR)") + " AS account_id",
             (_value_expr() if mapping.value_column else "CAST(NULL AS DOUBLE)") + " AS arr"]
    if mapping.name_column:
        parts.append("name_column AS account_name")
    if mapping.owner_column:
        parts.append("owner_column AS csm_owner")
    if mapping.segment_column:
        parts.append("segment_column AS segment")
    if mapping.renewal_column:
        parts.append(_date_expr() + " AS renewal_date")
        params.append(slash_format or "%m/%d/%Y")
    if mapping.outcome_column:
        is_positive = "list_contains(?, outcome_column)" if positive else "false"
        parts.append("CASE WHEN outcome_column IS NULL OR lower(outcome_column) IN ('na', 'n/a', 'null', 'none', "
                     f"'nan') THEN NULL ELSE {is_positive} END AS churned")
        if positive:
            params.append(list(positive))
    if mapping.parent_column:
        parts.append("parent_column AS parent_id")
    return f"SELECT {', '.join(parts)} FROM {RAW} ORDER BY __row", params
