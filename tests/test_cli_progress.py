"""Progress bars on stderr for every command that runs more than one fit, end to end.

Each command runs in its own process with stderr on a pseudo-terminal (where the bar is drawn)
and stdout on a pipe: the bar must show there and nothing of it may reach stdout or the files.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from kmeanslab.cli import run; run()"]
# What a drawn rich bar puts on a terminal (besides its "8/8"): escape sequences (cursor moves, colours).
ESCAPE = "\x1b["


def _run(argv: list[str], *, tty: bool, cwd: Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (``tty``) or a pipe; (exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TERM": "xterm-256color", "COLUMNS": "100"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    if not tty:
        done = subprocess.run([*CLI, *argv], capture_output=True, text=True, timeout=600, env=env, cwd=cwd)
        return done.returncode, done.stdout, done.stderr
    main_fd, child_fd = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # a full pseudo-terminal would block the child
        while True:
            try:
                data = os.read(main_fd, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    proc = subprocess.Popen([*CLI, *argv], stdout=subprocess.PIPE, stderr=child_fd, env=env, cwd=cwd)
    os.close(child_fd)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=600)
    reader.join(30)
    os.close(main_fd)
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


COMMANDS = {
    "elbow": (["elbow", "faithful", "--k", "1:4", "--runs", "2", "--out", "out"], "elbow", "8/8"),
    "fit": (["fit", "-k", "3", "--init", "random", "--n-init", "4", "--out", "out"], "fit, k=3", "4/4"),
    "classify": (["classify", "digits", "-k", "5,6", "--out", "out"], "classify", "2/2"),
    "compare-inits": (["compare-inits", "digits", "-k", "5", "--seeds", "2", "--out", "out"], "compare-inits", "6/6"),
    "choose-k": (
        ["choose-k", "faithful", "-k", "1:4", "--repeats", "2", "--refs", "2", "--out", "out"],
        "choosing k",
        "16/16",
    ),
    "report": (["report", "faithful", "--ks", "1:4", "--runs", "2", "--out", "out"], "report", "62/62"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_progress_on_a_terminal_and_never_in_stdout(tmp_path, command):
    argv, description, count = COMMANDS[command]
    code, out, err = _run(argv, tty=True, cwd=tmp_path)
    assert code == 0, err
    # The bar was drawn on the terminal, and ended complete.
    assert description in err and count in err, err[-2000:]
    # stdout is the results alone: no escape sequence, no bar, the same text as without a terminal.
    assert ESCAPE not in out and count not in out, out
    assert out.startswith(f"kmeanslab {command}") or out.startswith("kmeanslab fit:"), out
    files = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    for name, data in files.items():
        if not name.endswith(".png"):
            assert ESCAPE.encode() not in data, name
    if command in ("elbow", "choose-k", "classify", "compare-inits"):
        # Same seed, same results: the bar changed nothing in what is printed or written.
        again = tmp_path / "again"
        again.mkdir()
        code2, out2, err2 = _run(argv, tty=False, cwd=again)
        assert code2 == 0, err2
        assert out2 == out
        assert ESCAPE not in err2 and count not in err2  # no terminal, no bar
        assert {p.name: p.read_bytes() for p in (again / "out").iterdir()} == files


def test_no_progress_on_a_terminal(tmp_path):
    code, out, err = _run(["elbow", "faithful", "--k", "1:3", "--runs", "2", "--no-progress"], tty=True, cwd=tmp_path)
    assert code == 0, err
    assert ESCAPE not in err and "6/6" not in err
    assert "knee:" in out
