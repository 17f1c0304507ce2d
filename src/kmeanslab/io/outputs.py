"""Writing outputs so that nothing is half-written and nothing outside the output is touched.

Where the bytes go is decided first (:func:`resolve_output`), from what the path *is*:

- a new path, or an existing **regular file you own** (through any symlinks): written to a
  temporary file beside the real file and renamed onto it, so an interrupted write leaves the
  old file or the new one. A symlink stays a symlink; its target gets the new content.
- a **character device or FIFO** (``/dev/null``, ``/dev/tty``, a named pipe): written through,
  opened for writing like any program would; it is never replaced, so ``--out /dev/null``
  discards the output and leaves ``/dev/null`` alone.
- an **open descriptor of this process** (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``):
  written to that descriptor, as the shell set it up.
- anything else (a directory, a block device, a socket, a file of another user): refused with
  an :class:`~kmeanslab.errors.OutputError` before anything is written.

A command's set of files goes through :func:`staged_output_dir`: the files are written into a
hidden staging directory inside ``--out`` and moved into place only when all of them are
there, while the directory is locked against another run's commit; the files that say a run is
complete (``summary.json``, ``results.json``, ``index.html``) are removed first and put back
last, so an interrupted commit never leaves the directory looking complete. Temporary files
and staging directories of a killed run (its process gone) are removed by the next write there.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from ..errors import InputError, KMeansLabError, OutputError
from . import interrupts

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = [
    "OutputTarget",
    "resolve_output",
    "atomic_write",
    "write_text",
    "write_json",
    "write_csv",
    "json_ready",
    "prepare_out_dir",
    "staged_output_dir",
    "STAGING_PREFIX",
]

STAGING_PREFIX = ".kmeanslab-staging."
# A temporary file or staging directory whose process is gone is removed by the next write
# beside it, once it is this old: a process in another PID namespace sharing the directory
# may still be writing a younger one.
STALE_AFTER_S = 60.0
_FD_PATHS = re.compile(r"/dev/fd/([0-9]+)|/proc/(?:self|thread-self|[0-9]+)/fd/([0-9]+)")


# --------------------------------------------------------------------------- where the bytes go


class OutputTarget(NamedTuple):
    """Where a write lands: ``kind`` is ``"file"``, ``"device"`` or ``"descriptor"``.

    ``path`` is the real file for ``"file"`` (symlinks followed), the path as given otherwise;
    ``fd`` the descriptor for ``"descriptor"``; ``shown`` the path as the user wrote it.
    """

    kind: str
    path: Path
    fd: int | None
    shown: str


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as the user knows it: without the staging directory a command writes through."""
    parts = Path(path).parts
    return str(Path(*[p for p in parts if not p.startswith(STAGING_PREFIX)])) if parts else str(path)


def _cannot_write(path: str | os.PathLike, reason: str) -> OutputError:
    return OutputError(f"cannot write {shown_path(path)!r}: {reason}")


def _reason(exc: OSError) -> str:
    return exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))


def _descriptor_of(path: str) -> int | None:
    """The descriptor a ``/dev/stdout``-style path names in this process, or None."""
    absolute = os.path.abspath(path)
    if absolute in ("/dev/stdout", "/dev/stderr"):
        return 1 if absolute == "/dev/stdout" else 2
    match = _FD_PATHS.fullmatch(absolute)
    if match is None:
        return None
    if absolute.startswith("/proc/") and absolute.split("/")[2] not in ("self", "thread-self", str(os.getpid())):
        return None
    return int(match.group(1) or match.group(2))


def _writable_descriptor(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover - Windows
        return fd in (1, 2)
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        return False
    return flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)


def resolve_output(path: str | os.PathLike) -> OutputTarget:
    """Decide where a write to ``path`` lands (see the module docstring); refuse what must not be written.

    Raises
    ------
    OutputError
        ``path`` is empty, a directory, a block device, a socket, a file that belongs to another
        user, a descriptor not open for writing, or cannot be looked at (a name too long, a
        loop of symlinks, no permission to look).
    """
    text = os.fspath(path)
    if text == "":
        raise OutputError("cannot write '': the path is empty; expected a file name")
    fd = _descriptor_of(text)
    if fd is not None:
        if not _writable_descriptor(fd):
            raise _cannot_write(text, f"descriptor {fd} is not open for writing")
        return OutputTarget("descriptor", Path(text), fd, shown_path(text))
    try:
        st = os.stat(text)
    except FileNotFoundError:
        # A new file; through a dangling symlink, where the symlink points (as open() would).
        return OutputTarget("file", Path(os.path.realpath(text)), None, shown_path(text))
    except OSError as exc:
        raise _cannot_write(
            text, f"{_reason(exc)}; expected a path in an existing directory you can write to"
        ) from None
    mode = st.st_mode
    if stat.S_ISREG(mode):
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            raise _cannot_write(
                text,
                f"it belongs to another user (uid {st.st_uid}) and kmeanslab replaces only files you own; "
                f"expected a new path or a file of yours",
            )
        return OutputTarget("file", Path(os.path.realpath(text)), None, shown_path(text))
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return OutputTarget("device", Path(text), None, shown_path(text))
    kind = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise _cannot_write(text, f"it is {kind}; expected a file name (a new one, or a regular file to replace)")


# --------------------------------------------------------------------------- one file


def _current_umask() -> int:
    """The process's umask.

    Linux shows it in /proc; elsewhere reading it means setting it, and it is put straight
    back (another thread creating a file in between would see the temporary value).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """The permission bits ``path`` gets: an existing file's own, else ``0o666 & ~umask``.

    ``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask; renamed into
    place as is, every output would be private to its owner, unlike a file ``open`` creates.
    """
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    return 0o666 & ~_current_umask()


def _process_gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


def _sweep_stale(directory: Path, prefix: str, suffix: str = "") -> None:
    """Remove ``<prefix><pid>.<8 random characters><suffix>`` entries left by processes that are gone.

    That is exactly the name :func:`tempfile.mkstemp` / ``mkdtemp`` gave them here. Only
    entries of ours (same owner), old enough (:data:`STALE_AFTER_S`), whose process no longer
    runs; never through a symlink. Nothing here is allowed to fail a run.
    """
    pattern = re.compile(re.escape(prefix) + r"([0-9]+)\.[a-z0-9_]{8}" + re.escape(suffix))
    try:
        names = os.listdir(directory)
    except OSError:
        return
    now = time.time()
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        entry = directory / name
        try:
            st = os.lstat(entry)
            if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
                continue
            if now - st.st_mtime < STALE_AFTER_S or not _process_gone(int(match.group(1))):
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(entry, ignore_errors=True)
            elif stat.S_ISREG(st.st_mode):
                os.unlink(entry)
        except OSError:
            continue


def _temp_prefix(target: Path) -> str:
    return f".{target.name}."


@contextlib.contextmanager
def _write_errors_name(shown: str) -> Iterator[None]:
    """An ``OSError`` from writing (a full disk, a file too large) becomes an OutputError naming the file.

    A closed pipe stays a ``BrokenPipeError``: the reader went away, which the CLI treats as the
    SIGPIPE it is.
    """
    try:
        yield
    except (KMeansLabError, BrokenPipeError):
        raise
    except OSError as exc:
        raise _cannot_write(shown, _reason(exc)) from None


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Open ``path`` for writing so that it is replaced whole or not at all.

    A regular file (or a new one) is written to a temporary file beside it, then renamed onto
    it; on any exception (``KeyboardInterrupt`` included) the temporary file is removed and
    ``path`` is untouched. The file gets the permissions a plain ``open`` would give it
    (``0o666`` less the umask), or keeps those of the file it replaces. A device, a FIFO or
    ``/dev/stdout`` is written through (see :func:`resolve_output`). A stop signal received
    while writing (see :mod:`.interrupts`) cancels the rename.

    Raises
    ------
    OutputError
        The path cannot be written (see :func:`resolve_output`), the temporary file cannot be
        created beside it or renamed onto it (no such directory, no permission), or writing
        fails (no space left on the device, a file too large).
    """
    target = resolve_output(path)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
        open_kwargs.setdefault("newline", "")
    if target.kind == "file":
        with _replace_file(target, mode, open_kwargs) as handle:
            yield handle
        return
    with _write_through(target, mode, open_kwargs) as handle:
        yield handle


@contextlib.contextmanager
def _replace_file(target: OutputTarget, mode: str, open_kwargs: dict) -> Iterator[IO]:
    real = target.path
    _sweep_stale(real.parent, _temp_prefix(real), ".tmp")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(real)}{os.getpid()}.", suffix=".tmp", dir=real.parent)
    except OSError as exc:
        raise _cannot_write(
            target.shown, f"{_reason(exc)}; expected a path in an existing directory you can write to"
        ) from None
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, _new_file_mode(real))
            else:  # pragma: no cover - Windows
                os.chmod(tmp, _new_file_mode(real))
            handle = os.fdopen(fd, mode, **open_kwargs)
        except BaseException:
            os.close(fd)
            raise
        with _write_errors_name(target.shown):
            with handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
        interrupts.check()
        with interrupts.deferred():
            try:
                os.replace(tmp, real)
            except OSError as exc:
                raise _cannot_write(target.shown, _reason(exc)) from None
    except BaseException:
        with interrupts.deferred(), contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _write_through(target: OutputTarget, mode: str, open_kwargs: dict) -> Iterator[IO]:
    """Write into a device, a FIFO or an open descriptor: no temporary file, nothing replaced."""
    with _write_errors_name(target.shown):
        if target.kind == "descriptor":
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            fd = os.dup(target.fd)
        else:
            fd = os.open(target.path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            handle = os.fdopen(fd, mode, **open_kwargs)
        except BaseException:
            os.close(fd)
            raise
        with handle:
            yield handle


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path) as handle:
        handle.write(text)
    return Path(path)


def json_ready(value: Any) -> Any:
    """``value`` with numpy types as Python ones and every NaN or infinity as None (JSON's null).

    JSON has no NaN or Infinity; ``json.dumps`` writes them as bare tokens that strict parsers
    reject. A missing number (the std of a single run) is null.
    """
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented, strict JSON to ``path`` atomically (NaN and infinities as null)."""
    return write_text(path, json.dumps(json_ready(data), indent=2, allow_nan=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_csv(path: str | os.PathLike, array: np.ndarray, header: Sequence[str] | None = None) -> Path:
    """Write a 1-D or 2-D array of finite numbers as CSV (with an optional header row) atomically.

    Raises
    ------
    ValueError
        The array holds NaN or an infinity: a result that is not a number is a bug, and is not
        written.
    """
    array = np.asarray(array)
    if array.ndim == 1:
        array = array[:, None]
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"refusing to write NaN or infinity to {shown_path(path)!r}")
    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        fmt = "%d" if array.dtype.kind in "iub" else "%.17g"
        np.savetxt(handle, array, delimiter=",", fmt=fmt)
    return Path(path)


# --------------------------------------------------------------------------- output directories


def _looks(path: Path, test) -> bool:
    """``test(path)`` (``Path.exists``, ``is_dir``...) with an unanswerable path as an error naming it."""
    try:
        return test(path)
    except OSError as exc:
        raise InputError(f"{str(path)!r} cannot be used: {_reason(exc)}") from None


def prepare_out_dir(path: str | os.PathLike, name: str = "--out", *, create: bool = True) -> Path:
    """Check, and create unless ``create=False``, an output directory.

    Refuses a path that is a file or a directory that cannot be written. Commands call it
    with ``create=False`` before their work, so that bad input fails before anything is
    created, and again with ``create=True`` when there is something to write.
    """
    if os.fspath(path) == "":
        raise InputError(f"{name} '' is not valid; expected a directory")
    path = Path(path)
    if _looks(path, Path.exists) and not _looks(path, Path.is_dir):
        raise InputError(f"{name} {str(path)!r} is a file; expected a directory (or a new path)")
    if not create:
        existing = next((p for p in (path, *path.parents) if _looks(p, Path.exists)), Path("."))
        if not existing.is_dir():
            raise InputError(
                f"{name} {str(path)!r} cannot be created: {str(existing)!r} is a file, not a directory; "
                f"expected a directory (or a new path)"
            )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise InputError(
                f"{name} {str(path)!r} cannot be created: {str(existing)!r} is not writable; choose another directory"
            )
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{name} {str(path)!r} cannot be created: {_reason(exc)}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"{name} {str(path)!r} is not writable; choose another directory")
    return path


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` itself (no lock file left behind) while committing."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks (some network mounts): commit unlocked
            pass
        yield
        with contextlib.suppress(OSError):
            os.fsync(fd)  # the renames themselves reach the disk
    finally:
        os.close(fd)  # closing releases the lock


def _staged_files(staging: Path) -> list[Path]:
    """The files written into ``staging``, relative to it, sorted; temporaries of failed writes left out."""
    files = []
    for root, _, names in os.walk(staging):
        for name in names:
            full = Path(root) / name
            if stat.S_ISREG(os.lstat(full).st_mode) and not (name.startswith(".") and name.endswith(".tmp")):
                files.append(full.relative_to(staging))
    return sorted(files)


def _place(staged: Path, target: OutputTarget, shown: str) -> None:
    """Move one staged file to its target: a rename on the same file system, else a copy."""
    if target.kind == "file":
        try:
            target.path.parent.mkdir(parents=True, exist_ok=True)
            if os.stat(staged).st_dev == os.stat(target.path.parent).st_dev:
                os.chmod(staged, _new_file_mode(target.path))
                os.replace(staged, target.path)
                return
        except OSError as exc:
            raise _cannot_write(shown, _reason(exc)) from None
    with open(staged, "rb") as source, atomic_write(shown, "wb") as handle:
        shutil.copyfileobj(source, handle)


def _commit(staging: Path, out: Path, last: Iterable[str]) -> list[str]:
    files = _staged_files(staging)
    last_files = [Path(name) for name in last if Path(name) in files]
    order = [f for f in files if f not in last_files] + last_files
    # Every target is looked at before anything changes: a directory or another user's file in
    # the way fails the commit while the old outputs are still whole.
    targets = {rel: resolve_output(out / rel) for rel in order}
    with _locked(out):
        for rel in last_files:
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISREG(os.lstat(out / rel).st_mode):
                    os.unlink(out / rel)
        for rel in order:
            _place(staging / rel, targets[rel], str(out / rel))
    return [str(rel) for rel in order]


class StagedOutput:
    """The staging directory of a command's outputs (see :func:`staged_output_dir`)."""

    def __init__(self, staging: Path, out: Path):
        self.path = staging
        self.out = out
        self.committed: list[str] = []

    def __truediv__(self, name: str) -> Path:
        return self.path / name


@contextlib.contextmanager
def staged_output_dir(
    path: str | os.PathLike, *, last: Sequence[str] = (), name: str = "--out"
) -> Iterator[StagedOutput]:
    """Write a set of files into ``path`` all at once, or not at all.

    The body writes into ``staged.path`` (``staged / "labels.csv"``), a new hidden directory
    inside ``path``. When it ends without an exception and no stop signal was received, the
    files are moved into ``path`` under an exclusive lock of the directory, the files named in
    ``last`` removed first and put back last. On any exception the staging directory is
    removed and ``path`` keeps what it had. Files in ``path`` that the set does not name are
    never touched.

    Parameters
    ----------
    path : path-like
        The output directory (created if needed).
    last : sequence of str
        The files whose presence says the set is complete (``summary.json``).
    name : str, default="--out"
        How messages name the option.

    Yields
    ------
    StagedOutput
        ``.path`` the staging directory; after the block, ``.committed`` the names moved into place.
    """
    out = prepare_out_dir(path, name)
    _sweep_stale(out, STAGING_PREFIX)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}.", dir=out))
    except OSError as exc:
        raise InputError(f"{name} {str(out)!r} cannot be written: {_reason(exc)}") from None
    staged = StagedOutput(staging, out)
    try:
        yield staged
        interrupts.check()
        with interrupts.deferred():
            staged.committed = _commit(staging, out, last)
    finally:
        with interrupts.deferred():
            shutil.rmtree(staging, ignore_errors=True)
