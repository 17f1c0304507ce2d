"""The exceptions kmeanslab raises on purpose.

Every error a user can cause by what they pass in derives from :class:`KMeansLabError`.
The CLI maps these to exit code 2 with a one-line message; anything else is a bug
(exit code 1). Most also derive from the built-in type a Python user would catch
(``ValueError``, ``FileNotFoundError``, ``ImportError``), so scikit-learn's conventions hold.
"""

from __future__ import annotations

import signal

__all__ = [
    "KMeansLabError",
    "InputError",
    "DataFileError",
    "ChecksumError",
    "DatasetNotFoundError",
    "ModelFileError",
    "MissingExtraError",
    "OutputError",
    "Interrupted",
]


class KMeansLabError(Exception):
    """Base class of every error kmeanslab raises for bad input or a missing resource."""

    def __str__(self) -> str:
        # Messages often quote an underlying library's error, which may span lines; the CLI
        # promises one line, so whitespace runs (newlines included) become single spaces.
        return " ".join(super().__str__().split())


class InputError(KMeansLabError, ValueError):
    """A parameter or an array has a value kmeanslab cannot use."""


class DataFileError(InputError):
    """A file exists but cannot be read as the format it claims to be."""


class ChecksumError(DataFileError):
    """A downloaded file does not have the published checksum."""


class DatasetNotFoundError(KMeansLabError, FileNotFoundError):
    """A dataset or input file is not where kmeanslab looked for it."""


class ModelFileError(DataFileError):
    """A saved model file is truncated, of an unknown format version, or not a model."""


class OutputError(KMeansLabError, OSError):
    """An output file cannot be written where it was asked for (no such directory, no permission)."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (Ctrl-C, ``kill``, a closed terminal or pipe).

    A ``KeyboardInterrupt``, so that code which cleans up after Ctrl-C cleans up after every
    such signal, and so that ``except Exception`` does not swallow it. ``exit_code`` is the
    shell's convention, 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        super().__init__(f"interrupted by {_signal_name(self.signum)}")


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class MissingExtraError(KMeansLabError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""

    def __init__(self, feature: str, extra: str, module: str):
        self.extra = extra
        self.module = module
        super().__init__(
            f"{feature} needs the optional package {module!r}; install it with: pip install 'kmeanslab[{extra}]'"
        )
