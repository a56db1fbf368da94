"""Tiny hand-computable data sets shared by unit tests, AppTests and browser tests.

Each section is owned by one module's tests; add to your own section only.
"""

from __future__ import annotations

# ---- activity tables (signals, sample) ------------------------------------

# ---- signals tables (rules, scoring) --------------------------------------

# ---- account tables (loading) ----------------------------------------------

# ---- history (snapshots, explain, alerts) ---------------------------------
