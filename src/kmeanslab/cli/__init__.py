"""The ``kmeanslab`` command line: a thin shell over the library.

Each module in this package that defines ``register(subparsers, parent)`` adds its commands.
Errors a user can cause print one line and exit with code 2; anything unexpected prints a
one-line summary and exits with code 1 (``--debug`` shows the traceback). A stop signal
(SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE; see :mod:`kmeanslab.io.interrupts`) ends the run
with 128 + its number, whatever error it may have caused on the way, and commits no output.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
import warnings
from collections.abc import Sequence

from .._version import __version__
from ..errors import Interrupted, KMeansLabError
from ..io import interrupts

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 128 + getattr(signal, "SIGPIPE", 13)


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
        try:
            code = int(args.handler(args) or EXIT_OK)
            interrupts.check()  # a signal whose exception was swallowed on the way still ends the run
            return code
        except Exception as exc:
            # Reporting an error is not cut short by a signal: it is recorded and decides the exit code.
            with interrupts.deferred():
                return _exit_code_for(exc, debug)
        except KeyboardInterrupt as exc:  # Interrupted included
            with interrupts.deferred():
                return _interrupted(exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)
    except Interrupted as exc:  # a signal in the instant between an error and its report
        return _interrupted(exc.signum)
    finally:
        warnings.showwarning = previous


def _exit_code_for(exc: Exception, debug: bool) -> int:
    """Report ``exc`` in one line and return the exit code; a signal received on the way wins."""
    if isinstance(exc, BrokenPipeError):
        return _interrupted(getattr(signal, "SIGPIPE", 13))
    if interrupts.received() is not None:
        # The signal caused this (an exception raised inside a library mid-update).
        return _interrupted(interrupts.received())
    if isinstance(exc, KMeansLabError):
        if debug:
            raise exc
        _error(f"kmeanslab: error: {exc}")
        return EXIT_USAGE
    if isinstance(exc, OSError) and exc.filename is not None and not debug:
        # A file of this machine the library had no reason to name itself: still the input's doing.
        _error(f"kmeanslab: error: {str(exc.filename)!r}: {exc.strerror or exc}")
        return EXIT_USAGE
    if debug:
        raise exc
    summary = str(exc).splitlines()[0] if str(exc) else ""
    _error(f"kmeanslab: unexpected error: {type(exc).__name__}: {summary} (rerun with --debug for the traceback)")
    return EXIT_UNEXPECTED


def _error(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except OSError:  # stderr itself is gone
        pass


def _interrupted(signum: int) -> int:
    """Say how the run ended (not for SIGPIPE: the reader of stdout is gone and wants nothing more)."""
    if signum == getattr(signal, "SIGPIPE", None):
        _silence_stdout()
    else:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        _error(f"kmeanslab: interrupted by {name}")
    return 128 + int(signum)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the final flush at exit does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def run() -> None:
    """Console-script entry point: stop signals handled as described in :mod:`kmeanslab.io.interrupts`."""
    restore = interrupts.install()
    try:
        code = main()
        with interrupts.deferred():  # the SIGPIPE a closed stdout sends is recorded, not raised, here
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                code = _interrupted(getattr(signal, "SIGPIPE", 13))
    finally:
        restore()
    sys.exit(code)
