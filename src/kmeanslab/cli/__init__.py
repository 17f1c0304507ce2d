"""The ``kmeanslab`` command line: a thin shell over the library.

Each module in this package that defines ``register(subparsers, parent)`` adds its commands.
Errors a user can cause print one line and exit with code 2; anything unexpected prints a
one-line summary and exits with code 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from collections.abc import Sequence

from .._version import __version__
from ..errors import KMeansLabError

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _command_modules():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            if hasattr(module, "register"):
                yield module


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are the one line every other error is.

    argparse prints the whole usage block before the message; a user gets the message, the
    exit code 2 and where to look for the options instead.
    """

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"kmeanslab: error: {' '.join(message.split())} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of an unexpected error"
    )
    parser = _Parser(
        prog="kmeanslab",
        description="k-means clustering you can trust and read.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"kmeanslab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in _command_modules():
        module.register(subparsers, common)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"kmeanslab: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return int(args.handler(args) or EXIT_OK)
    except KMeansLabError as exc:
        if debug:
            raise
        print(f"kmeanslab: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kmeanslab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug, not bad input: say so in one line
        if debug:
            raise
        summary = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"kmeanslab: unexpected error: {type(exc).__name__}: {summary} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
    finally:
        warnings.showwarning = previous


def _terminate(signum, frame):
    # SIGTERM (kill, a scheduler's time limit) ends the run like Ctrl-C does, through the
    # exception handlers, so that a file being written is removed, not left half-written.
    raise SystemExit(128 + signum)


def run() -> None:
    """Console-script entry point."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
