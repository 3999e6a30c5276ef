"""Errors the command line maps onto exit codes (DESIGN.md command-line contract)."""


class BadInputError(Exception):
    """Bad input or usage: the command exits 2 with this message and changes nothing."""


class FindingsGateError(Exception):
    """`check --fail-on`: findings reached the gate's severity (exit 3)."""
