"""`autosig <command>` (the README, "Commands"). Each command lives in autosig/commands/<name>.py with
`add_arguments(parser)` and `run(args) -> int`; this module only dispatches."""

from __future__ import annotations

import argparse
import importlib
import sys

from autosig import __version__

COMMANDS = {
    "demo": "start the simulator, worker and web on loopback (logs/demo)",
    "verify": "check JSON, seq continuity and the hash chain of the streams",
    "export": "write a stream's exact lines to stdout",
    "copy": "copy every stream between stores byte for byte",
    "parse": "parse JSONL alerts from stdin, one result per line",
    "reprocess": "parse every raw event that has no parse for a parser version",
    "tail": "follow a stream in the terminal",
    "stats": "counts per stream, type and parse kind, and the ingestion state",
    "export-reviews": "write every reviewed alert as a parser test case (corpus JSONL)",
    "notify-heads": "send the head (seq and hash) of every stream to AUTOSIG_NOTIFY_URL now",
    "execute": "run the executor alone (follows fresh signals into the broker account)",
    "pause": "stop sending anything new to the broker until resumed",
    "resume": "let the executor decide and send again",
    "orders": "the executor's decisions, working orders, positions, P&L and caps, as tables",
    "broker-check": "read the broker account the executor would trade with (sends no order)",
    "whop-login": "sign in to Whop (OAuth with PKCE) and keep the grant beside the store; --status says who",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autosig", description="AutoSig command-line tools")
    parser.add_argument("--version", action="version", version=f"autosig {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    for name, help_text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        try:
            module = importlib.import_module(f"autosig.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"autosig.commands.{name.replace('-', '_')}":
                raise
            command_parser.set_defaults(module=None)
            continue
        module.add_arguments(command_parser)
        command_parser.set_defaults(module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.module is None:
        print(f"autosig {args.command}: not available in this build yet", file=sys.stderr)
        return 2
    try:
        return int(args.module.run(args) or 0)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
