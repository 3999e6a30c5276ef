"""The synthetic trial generator (safetyboard demo)."""
