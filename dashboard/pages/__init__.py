"""Dashboard pages (thin: query -> figure -> layout). Run by st.navigation from streamlit_app.py."""
