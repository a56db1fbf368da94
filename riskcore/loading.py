"""The load API under its first name: `riskcore.io` holds it (readers, typing, role checks)."""

from .io import load_account_table, load_data, validate_many, validate_path
from .mapping import mapping_from_dict

__all__ = ["load_data", "load_account_table", "validate_path", "validate_many", "mapping_from_dict"]
