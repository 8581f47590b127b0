"""Entry point: parses the subcommand, runs it, and turns library errors into messages and exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import NoReturn

from . import benchmark, check_data, evaluate, export, segment, segment_dataset, serve, train, video

# modules of the extras, for a message that says which to install
EXTRA_MODULES = {"torch": "train", "matplotlib": "train", "h5py": "train", "onnx": "train", "fastapi": "serve",
                    "uvicorn": "serve", "ray": "ray"}
SUBCOMMANDS = {"segment": segment, "segment-dataset": segment_dataset, "video": video, "serve": serve, "train": train,
               "evaluate": evaluate, "check-data": check_data, "export": export, "benchmark": benchmark}


class _CurrentStdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time of the message (so redirection and capture work)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging() -> None:
    logger = logging.getLogger("portraitnet")
    if not any(isinstance(h, _CurrentStdoutHandler) for h in logger.handlers):
        handler = _CurrentStdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


class Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line said in one line (the usage is one --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="portraitnet", description="PortraitNet portrait segmentation.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a mistake on the command line, already said
        return int(stop.code or 0)
    setup_logging()
    try:
        return int(args.run(args) or 0)
    except ModuleNotFoundError as error:
        extra = EXTRA_MODULES.get(error.name or "")
        hint = f": {args.command} needs it, pip install 'portraitnet[{extra}]'" if extra else ""
        print(f"portraitnet {args.command}: error: {error}{hint}", file=sys.stderr)
        return 2
    except (ValueError, OSError, ImportError) as error:  # the library's errors name the file and the problem
        print(f"portraitnet {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"portraitnet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
