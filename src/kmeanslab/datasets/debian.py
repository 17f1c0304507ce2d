"""Debian package descriptions: a real document corpus with a topic label, read offline.

A Debian (or Ubuntu) machine keeps the package index of its archives in
``/var/lib/apt/lists/*_Packages`` (lz4-compressed on recent releases): one stanza per package,
with its ``Description:`` (a one-line synopsis, and on some archives continuation lines) and
its ``Section:`` (libs, devel, python, games, ...). The section is a topic label written by the
maintainers, which makes the descriptions a ready-made corpus for document clustering
(``benchmarks/cosine_nmi.py``): bookworm's main archive holds 63,440 packages in 60 sections.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFileError, DatasetNotFoundError, InputError
from ..validation import as_generator, check_int

__all__ = ["APT_LISTS", "TextDataset", "load_debian_descriptions", "parse_packages"]

#: Where apt keeps the package indexes.
APT_LISTS = "/var/lib/apt/lists"


@dataclass
class TextDataset:
    """Documents and their topic: ``texts`` (n,), ``target`` (n,) ints indexing ``target_names``.

    Unpacks as ``texts, y = dataset``.
    """

    texts: list[str]
    target: np.ndarray
    target_names: list[str] = field(default_factory=list)
    name: str = ""
    description: str = ""

    def __iter__(self):
        return iter((self.texts, self.target))


def parse_packages(text: str) -> dict[str, tuple[str, str]]:
    """``{package: (section, description)}`` from the text of a ``Packages`` index.

    The description is the ``Description:`` line and its continuation lines (a line holding
    only ``.`` is a paragraph break), joined by spaces. The section drops its archive area
    (``contrib/games`` is ``games``). Stanzas without a section or a description are skipped.
    """
    out: dict[str, tuple[str, str]] = {}
    for stanza in text.split("\n\n"):
        fields: dict[str, list[str]] = {}
        current = None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t"):
                if current is not None:
                    part = line.strip()
                    fields[current].append("" if part == "." else part)
                continue
            name, sep, value = line.partition(":")
            if not sep:
                current = None
                continue
            current = name.strip()
            fields[current] = [value.strip()]
        package = " ".join(fields.get("Package", [])).strip()
        section = " ".join(fields.get("Section", [])).strip().rsplit("/", 1)[-1]
        description = " ".join(p for p in fields.get("Description", []) if p).strip()
        if package and section and description:
            out[package] = (section, description)
    return out


def _read_index(path: Path) -> str:
    """The text of one ``Packages`` file: plain, or ``.lz4`` through the ``lz4cat`` executable."""
    if path.suffix != ".lz4":
        return path.read_text(encoding="utf-8", errors="replace")
    lz4cat = shutil.which("lz4cat")
    if lz4cat is None:
        raise DatasetNotFoundError(f"{path}: reading .lz4 package lists needs the lz4cat executable (apt install lz4)")
    done = subprocess.run([lz4cat, str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        raise DataFileError(f"{path}: lz4cat failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode("utf-8", errors="replace")


def _index_files(path: Any) -> list[Path]:
    if path is None:
        path = APT_LISTS
    path = Path(os.fspath(path))
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(glob.glob(str(path / "*_Packages.lz4")) + glob.glob(str(path / "*_Packages")))
        if found:
            return [Path(p) for p in found]
    raise DatasetNotFoundError(
        f"{path}: no Debian package lists (*_Packages or *_Packages.lz4) found; expected a Debian/Ubuntu "
        f"machine's {APT_LISTS} (run apt-get update) or a path to a Packages file"
    )


def load_debian_descriptions(
    path: Any = None, *, min_section_size: int = 500, n_samples: int | None = None, seed: Any = 0
) -> TextDataset:
    """Package descriptions labelled by their Debian section.

    Parameters
    ----------
    path : path-like, optional
        A ``Packages`` file (plain or ``.lz4``) or a directory of them; default
        :data:`APT_LISTS`. A package listed in several files (an archive and its updates)
        counts once, as the last file (in name order) describes it.
    min_section_size : int, default=500
        Sections with fewer packages are dropped (the labels of a clustering benchmark should
        be topics with enough members to form a cluster).
    n_samples : int, optional
        Keep this many documents, drawn at random without replacement (``seed``); default all.
    seed : int or Generator, default=0

    Returns
    -------
    TextDataset
        Documents in package-name order (before any sampling), ``target`` indexing
        ``target_names`` (the kept sections, sorted).

    Raises
    ------
    DatasetNotFoundError
        There are no package lists (a CI machine without apt lists), or lz4cat is missing.
    """
    min_section_size = check_int(min_section_size, "min_section_size", min_value=1)
    packages: dict[str, tuple[str, str]] = {}
    files = _index_files(path)
    for file in files:
        packages.update(parse_packages(_read_index(file)))
    counts = Counter(section for section, _ in packages.values())
    kept = sorted(s for s, c in counts.items() if c >= min_section_size)
    if not kept:
        raise InputError(
            f"min_section_size={min_section_size} keeps no section: the largest has {max(counts.values(), default=0)} "
            f"packages; expected a smaller min_section_size"
        )
    code = {s: i for i, s in enumerate(kept)}
    names = sorted(p for p, (s, _) in packages.items() if s in code)
    texts = [packages[p][1] for p in names]
    target = np.array([code[packages[p][0]] for p in names], dtype=np.int64)
    if n_samples is not None:
        n_samples = check_int(n_samples, "n_samples", min_value=1)
        if n_samples > len(texts):
            raise InputError(f"n_samples={n_samples} is not valid; expected at most the {len(texts)} documents kept")
        rows = np.sort(as_generator(seed).choice(len(texts), n_samples, replace=False))
        texts, target = [texts[i] for i in rows], target[rows]
    return TextDataset(
        texts=texts,
        target=target,
        target_names=kept,
        name="debian-descriptions",
        description=f"{len(texts)} Debian package descriptions from {len(files)} package list(s), "
        f"labelled by section ({len(kept)} sections of at least {min_section_size} packages)",
    )
