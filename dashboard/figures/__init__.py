"""Figure builders: pure functions, Polars frame in -> Plotly figure out (no Streamlit, no SQL)."""
