"""Extract, transform, load: from an export folder to a hashed, audited DuckDB data cut."""
