"""riskcore: the customer-success risk dashboard (Streamlit entry point).

`streamlit run app.py -- --data PATH`, or $RISKCORE_DATA, else the generated sample.
Pages are thin: they gather inputs, call `riskcore`, draw the result.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from pages._common import page_setup  # noqa: E402

page_setup()

PAGES = [
    st.Page(str(ROOT / "pages" / "overview.py"), title="Overview", icon=":material/dashboard:", default=True),
    st.Page(str(ROOT / "pages" / "accounts.py"), title="Accounts", icon=":material/groups:"),
    st.Page(str(ROOT / "pages" / "tuning.py"), title="Tuning", icon=":material/tune:"),
    st.Page(str(ROOT / "pages" / "calibration.py"), title="Calibration", icon=":material/analytics:"),
    st.Page(str(ROOT / "pages" / "data.py"), title="Data", icon=":material/database:"),
]

page = st.navigation(PAGES)
page.run()  # the page draws the sidebar (pages._common.ctx)
