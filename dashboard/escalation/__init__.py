"""Dose-escalation designs (3+3, BOIN), exact intervals and the decision engine (pure)."""
