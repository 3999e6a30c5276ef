"""The `safetyboard` command line: thin argument parsing over the packages.

Exit codes (DESIGN.md): 0 success, 2 bad input or usage (nothing changed), 1 internal error,
3 for `check` when findings reach the `--fail-on` severity. Heavy imports (GX, Streamlit) happen
inside the command that needs them so that `--help` and `escalation` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
from collections.abc import Sequence

from safetyboard.errors import BadInputError, FindingsGateError
from safetyboard.protocol import ProtocolError

# command name -> "module:function" taking the parsed args and returning an exit code
COMMANDS = {
    "demo": "etl.demo.command:run",
    "load": "etl.load_command:run",
    "check": "checks.command:run",
    "escalation": "dashboard.escalation.command:run",
    "serve": "dashboard.serve:run",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 (argparse default) with a message
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="safetyboard", description="Safety-signal monitoring for dose-escalation trials.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
        return p

    p = add("demo", "Write a synthetic SDTM export of the trial (with _truth.json of planted issues).")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--subjects", type=int, default=56, help="number of subjects (default 56)")
    p.add_argument("--seed", type=int, default=20260305, help="random seed")
    p.add_argument("--format", choices=["csv", "xpt"], default="csv")
    p.add_argument("--protocol", default=None, help="protocol TOML (default: the trial's)")
    p.add_argument("--no-issues", action="store_true", help="plant no data issues (clean export)")

    p = add("load", "Load an export folder into a new data cut (atomic swap; earlier cuts kept).")
    p.add_argument("source", help="export folder (one file per SDTM domain)")
    p.add_argument("--db", required=True, help="path of the current cut's DuckDB file")
    p.add_argument("--protocol", default=None, help="protocol TOML (default: the trial's)")
    p.add_argument("--mapping", default=None, help="column-mapping TOML for non-SDTM exports")
    p.add_argument("--encoding", default="auto", help="CSV/XPT encoding: auto (default) or a codec name")
    p.add_argument("--no-checks", action="store_true", help="skip the data-quality checks")
    p.add_argument("--cut-date", default=None, metavar="YYYY-MM-DD",
                   help="the data cut date (default: the latest complete date in the clinical data)")

    p = add("check", "Run the data-quality checks on the current cut.")
    p.add_argument("--db", required=True)
    p.add_argument("--fail-on", choices=["error", "warning"], default=None, help="exit 3 at this severity")
    p.add_argument("--protocol", default=None)
    p.add_argument("--data-docs", default=None, help="folder for GX Data Docs (default beside the db)")

    p = add("escalation", "Dose-escalation status and decision (from a cut, or what-if counts).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--db", help="current cut")
    src.add_argument("--counts", help='what-if: "n:y,n:y,..." evaluable:DLT per dose level, lowest first')
    p.add_argument("--current", type=int, default=None, help="current level (with --counts), 1..K")
    p.add_argument("--design", choices=["3+3", "boin"], default=None)
    p.add_argument("--target", type=float, default=None, help="target DLT rate (BOIN)")
    p.add_argument("--protocol", default=None)

    p = add("serve", "Serve the dashboard (Streamlit).")
    p.add_argument("--db", default=None)
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1")
    return parser


def _fail(args: argparse.Namespace, code: int, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"status": "error", "error": message}))
    print(f"safetyboard {args.command}: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = COMMANDS[args.command].split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return int(func(args))
    except (BadInputError, ProtocolError) as exc:
        return _fail(args, 2, str(exc))
    except FindingsGateError as exc:
        return _fail(args, 3, str(exc))
    except KeyboardInterrupt:
        return _fail(args, 1, "interrupted")
    except BrokenPipeError:  # output piped into a reader that closed early (e.g. `| head`)
        sys.stderr.close()
        return 0
    except Exception as exc:  # internal error: exit 1 with the traceback on stderr
        traceback.print_exc()
        return _fail(args, 1, f"internal error: {exc!r}")


if __name__ == "__main__":
    sys.exit(main())
