"""The user's own files: reading their tables, and writing outputs so that nothing is lost.

- :mod:`.inputs`: opening a file for reading, with errors that name it and every read bounded
  (by what the format declares, or by :func:`read_limit`, 1 GiB unless
  ``$KMEANSLAB_MAX_READ_BYTES`` says otherwise); ``.npy`` headers.
- :mod:`.tables`: :func:`read_table` reads CSV/TSV and other text tables, ``.npy``, ``.npz`` and
  Parquet into a float array and its column names; :func:`select_columns`.
- :mod:`.outputs`: :func:`atomic_write` and the ``write_*`` helpers replace a file whole or not
  at all, write through devices and ``/dev/stdout`` instead of replacing them, and never
  replace a file of another user; :func:`staged_output_dir` commits a command's set of files
  into ``--out`` at once.
- :mod:`.interrupts`: stop signals as a flag that the writers check before every commit.

>>> from kmeanslab.io import read_table, write_csv
>>> X, names = read_table("data.csv")  # doctest: +SKIP
>>> write_csv("labels.csv", labels, header=["label"])  # doctest: +SKIP
"""

from . import interrupts
from .inputs import (
    DEFAULT_READ_LIMIT,
    READ_LIMIT_ENV,
    NpyHeader,
    decode_text,
    open_input,
    read_input_bytes,
    read_limit,
    read_npy_header,
)
from .outputs import (
    STAGING_PREFIX,
    OutputTarget,
    atomic_write,
    json_ready,
    prepare_out_dir,
    resolve_output,
    staged_output_dir,
    write_csv,
    write_json,
    write_text,
)
from .tables import TABLE_SUFFIXES, read_table, read_table_rows, select_columns

__all__ = [
    "read_table",
    "read_table_rows",
    "select_columns",
    "TABLE_SUFFIXES",
    "decode_text",
    "open_input",
    "read_input_bytes",
    "read_limit",
    "read_npy_header",
    "NpyHeader",
    "READ_LIMIT_ENV",
    "DEFAULT_READ_LIMIT",
    "atomic_write",
    "write_text",
    "write_json",
    "write_csv",
    "json_ready",
    "prepare_out_dir",
    "staged_output_dir",
    "resolve_output",
    "OutputTarget",
    "STAGING_PREFIX",
    "interrupts",
]
