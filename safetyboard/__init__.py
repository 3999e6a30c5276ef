"""SafetyBoard: safety-signal monitoring for dose-escalation trials (shared config and CLI)."""

__version__ = "0.1.0"
