"""The Streamlit UI: one file per page (overview, accounts, tuning, calibration, data), run by app.py's
st.navigation, and the modules they share (session, access, state, layout, datasets, applies)."""
