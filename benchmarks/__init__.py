"""Benchmarks of riskcore (not part of the package): `python -m benchmarks.bench`, see README.md here."""
