"""Reading user files into a Store: sniffing and readers (`csvfile`, `readers`: CSV, Excel,
Parquet), account-table typing (`columns`) and role checks (`roles`), and the load itself (`load`).
`riskcore.loading` re-exports the public names for older imports."""

from .load import load_account_table, load_data, validate_many, validate_path

__all__ = ["load_data", "load_account_table", "validate_path", "validate_many"]
