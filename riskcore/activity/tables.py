"""The activity tables' contract (PRODUCT.md §2.2): canonical columns and types, required columns,
coded values, what is checked where; the names of the raw / staging tables; which file is which table."""

from __future__ import annotations

from pathlib import Path

from ..db import safe_table_name
from ..signals import EVENT_DATES, PLANNED_DATES

# Canonical columns and DuckDB types; the first entries of each table's REQUIRED are the bold ones.
TABLES: dict[str, dict[str, str]] = {
    "accounts": {"account_id": "VARCHAR", "account_name": "VARCHAR", "segment": "VARCHAR",
                 "industry": "VARCHAR", "region": "VARCHAR", "plan": "VARCHAR", "csm_owner": "VARCHAR",
                 "arr": "DOUBLE", "seats": "BIGINT", "contract_start": "DATE", "renewal_date": "DATE",
                 "marketing_consent": "BOOLEAN", "parent_id": "VARCHAR"},
    "usage": {"account_id": "VARCHAR", "date": "DATE", "active_users": "BIGINT", "logins": "BIGINT",
              "core_feature_events": "BIGINT"},
    "tickets": {"account_id": "VARCHAR", "ticket_id": "VARCHAR", "opened_at": "DATE", "priority": "VARCHAR",
                "sentiment": "DOUBLE", "escalated": "BOOLEAN"},
    "invoices": {"account_id": "VARCHAR", "invoice_id": "VARCHAR", "due_date": "DATE", "paid_at": "DATE",
                 "amount": "DOUBLE", "status": "VARCHAR"},
    "touchpoints": {"account_id": "VARCHAR", "date": "DATE", "kind": "VARCHAR", "nps": "DOUBLE"},
    "relationship_events": {"account_id": "VARCHAR", "date": "DATE", "event": "VARCHAR"},
    "outcomes": {"account_id": "VARCHAR", "date": "DATE", "outcome": "VARCHAR", "arr_change": "DOUBLE"},
    # save plays started (uplift.py); holdout = eligible but randomly kept out of the play (the control)
    "plays": {"account_id": "VARCHAR", "play": "VARCHAR", "started_at": "DATE", "holdout": "BOOLEAN"},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id", "arr", "contract_start"),
    "usage": ("account_id", "date", "logins"),
    "tickets": ("account_id", "opened_at"),
    "invoices": ("account_id", "due_date", "status"),
    "touchpoints": ("account_id", "date", "kind"),
    "relationship_events": ("account_id", "date", "event"),
    "outcomes": ("account_id", "date", "outcome"),
    "plays": ("account_id", "play", "started_at"),
}
# Coded columns: values are trimmed and lower-cased; others are kept with a warning.
CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("invoices", "status"): ("paid", "late", "failed", "open", "chargeback"),
    ("touchpoints", "kind"): ("qbr", "exec_meeting", "csm_call", "nps_survey"),
    ("relationship_events", "event"): ("champion_left", "sponsor_changed", "champion_added"),
    ("outcomes", "outcome"): ("churned", "downgraded", "renewed"),
}
EXPECTED = {"VARCHAR": "text", "DATE": "a date (YYYY-MM-DD)", "DOUBLE": "a number", "BIGINT": "a whole number",
            "BOOLEAN": "true/false"}
NPS_RANGE = (0, 10)  # touchpoints.nps: answers outside it are read as empty
# Dated columns checked for rows past the data's ordinary end (signals.data_end)
DATED_COLUMNS = EVENT_DATES + PLANNED_DATES
# Tables where a row repeated exactly is an export error (counted once, reported). Not accounts (a
# repeated id is an error already) nor touchpoints (two calls on one day are two identical rows, and
# no signal counts touchpoints).
DUPLICATES_CHECKED = ("usage", "tickets", "invoices", "relationship_events", "outcomes", "plays")
MAX_EXAMPLES = 3  # bad rows reported one by one per column; the rest as a count
SUFFIXES = (".csv", ".parquet")


def raw_name(table: str) -> str:
    return safe_table_name(f"_raw_{table}")


def stage_name(table: str) -> str:
    return safe_table_name(f"_stage_{table}")


def dups_name(table: str) -> str:
    return safe_table_name(f"_dups_{table}")


def is_duckdb_file(path: Path) -> bool:
    """A DuckDB database file (its header carries the magic bytes 'DUCK' at offset 8)."""
    try:
        with open(path, "rb") as f:
            return f.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def table_for(name: str) -> str | None:
    """The activity table a file of this name in a data folder is read as ('Usage.CSV' -> 'usage'), or None."""
    p = Path(name)
    return p.stem.lower() if p.suffix.lower() in SUFFIXES and p.stem.lower() in TABLES else None
