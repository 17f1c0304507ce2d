"""kmeanslab against scikit-learn: ``python -m benchmarks.compare [--quick]``.

The logic lives in :mod:`kmeanslab.bench` (also ``kmeanslab bench``); the measured tables are
in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import sys

from kmeanslab.bench import main

if __name__ == "__main__":
    sys.exit(main())
