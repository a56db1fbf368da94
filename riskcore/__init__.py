"""riskcore: rule-based customer-success risk scoring over DuckDB (no Streamlit here)."""

__version__ = "0.1.0"
