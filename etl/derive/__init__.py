"""Derivations: one module per analysis table or rule (pure Polars functions)."""
