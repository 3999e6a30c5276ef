"""The dashboard: connection, queries, figures, pages; and the escalation engine."""
