"""Signals as a flag: a run that is told to stop stops cleanly, and says so.

Python's default answer to Ctrl-C (and a handler that raises ``SystemExit``) injects an
exception wherever the program happens to be. Landing in a weakref callback or a ``__del__``
it is printed and swallowed, so the run goes on and exits 0; landing inside matplotlib it can
leave a figure half-updated and surface later as an unrelated ``ValueError``. Here a signal is
first of all *recorded*:

- :func:`install` sets a handler for SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE that records
  the first signal received; :func:`received` reads it and :func:`check` raises
  :class:`~kmeanslab.errors.Interrupted` if one has arrived. The output writers check it before
  every rename, so a run that was asked to stop never commits a file; the CLI checks it between
  steps and before it reports success.
- Outside a :func:`deferred` section the handler also raises at once, so that a long fit stops
  promptly. Renames, commits, clean-ups and the report of an error run deferred: the signal
  waits until they finish.
  If the exception it raises is swallowed (a weakref callback) or turned into another error (a
  half-drawn figure), the record still says the run was interrupted: :func:`check` raises at
  the next step, and the CLI reports the signal, not the error it caused.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import Interrupted

__all__ = ["HANDLED_SIGNALS", "install", "received", "check", "deferred", "reset"]

HANDLED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGPIPE") if hasattr(signal, name)
)


class _State:
    signum: int | None = None
    deferred_depth: int = 0


_state = _State()


def _handler(signum: int, frame: Any) -> None:
    if _state.signum is None:
        _state.signum = signum
    # Within a deferred section (a commit, a clean-up, the report of an error) the signal is
    # only recorded: raising would cut it short.
    if _state.deferred_depth == 0:
        raise Interrupted(_state.signum)


def _quiet_unraisable(previous: Callable) -> Callable:
    """An unraisable hook that drops :class:`Interrupted` (it is recorded) and passes on the rest."""

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, Interrupted):
            return
        previous(unraisable)

    return hook


def install() -> Callable[[], None]:
    """Handle the stop signals as described above; returns a function that restores the old handlers.

    Only the main thread can set signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    reset()
    previous = {signum: signal.signal(signum, _handler) for signum in HANDLED_SIGNALS}
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(previous_hook)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = previous_hook

    return restore


def received() -> int | None:
    """The number of the first stop signal received since :func:`install`, or None."""
    return _state.signum


def check() -> None:
    """Raise :class:`~kmeanslab.errors.Interrupted` if a stop signal has been received."""
    if _state.signum is not None:
        raise Interrupted(_state.signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A section a signal does not cut short: it is recorded, and acted on at the next :func:`check`."""
    _state.deferred_depth += 1
    try:
        yield
    finally:
        _state.deferred_depth -= 1


def reset() -> None:
    """Forget any signal received (a new run in the same process)."""
    _state.signum = None
    _state.deferred_depth = 0
