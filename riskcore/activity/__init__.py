"""Load activity tables (a folder of CSV/Parquet files, or a DuckDB file) into the store, validated.

Each table is read raw, checked (required columns, types, ids, ARR), cast to the canonical types
of PRODUCT.md §2.2 into `_stage_<table>`, and swapped in only when nothing is wrong. Values that
load but would mislead are warnings naming table, row and column (`sanity.check_sanity`): rows dated
past the data's ordinary end, negative or fractional counts, NPS outside 0-10, fully duplicated rows,
churn dated before the contract start.

`tables` holds the contract (columns, types, codes), `reading` reads files and DuckDB tables raw,
`checks` finds the errors, `sanity` the warnings, `load` stages and swaps in.
Everything is importable from `riskcore.activity`.
"""

from .checks import canonical_columns, cast_expr, check_accounts, check_codes, check_values, report_rows
from .load import load_activity, load_frames
from .reading import read_duckdb, read_file, read_folder
from .sanity import check_past_end, check_sanity
from .tables import (CODES, DATED_COLUMNS, DUPLICATES_CHECKED, EXPECTED, MAX_EXAMPLES, NPS_RANGE, REQUIRED, SUFFIXES,
                     TABLES, dups_name, is_duckdb_file, raw_name, stage_name, table_for)

__all__ = [
    "CODES", "DATED_COLUMNS", "DUPLICATES_CHECKED", "EXPECTED", "MAX_EXAMPLES", "NPS_RANGE", "REQUIRED", "SUFFIXES",
    "TABLES", "canonical_columns", "cast_expr", "check_accounts", "check_codes", "check_past_end", "check_sanity",
    "check_values", "dups_name", "is_duckdb_file", "load_activity", "load_frames", "raw_name", "read_duckdb",
    "read_file", "read_folder", "report_rows", "stage_name", "table_for",
]
