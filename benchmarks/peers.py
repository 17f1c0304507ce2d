"""The contenders: kmeanslab's own algorithms and its peers, behind one calling convention.

Each contender is a factory ``make(X, start, max_iter, tol) -> fit``; ``fit()`` runs one fit
from the centres ``start`` (float32, k x d) and returns a :class:`Fit`. Only the call is timed;
the benchmark computes inertia afterwards, in float64, the same way for every library.

Peers, each skipped with a note when its import fails (``make bench`` installs them):

* scikit-learn ``KMeans``, ``algorithm="lloyd"`` and ``"elkan"``;
* scikit-learn-intelex (``sklearnex.cluster.KMeans``, oneDAL). Whether oneDAL ran, or
  sklearnex fell back to scikit-learn, is read from sklearnex's own log and shown in the "ran"
  column (oneDAL has Lloyd only: it runs its Lloyd for ``"elkan"`` too, so only one sklearnex
  contender is timed);
* faiss-cpu ``faiss.Kmeans`` with ``max_points_per_centroid`` above n / k (no subsampling: every
  point, every iteration) and ``min_points_per_centroid=1``. faiss has no tolerance: to
  convergence it runs as many iterations as scikit-learn's Lloyd needed from the same centres,
  and it takes dense float32 only.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
from sklearn.cluster import KMeans as SklearnKMeans

from kmeanslab.cluster import ALGORITHMS
from kmeanslab.cluster import KMeans as KMeanslabKMeans

__all__ = ["Fit", "Failed", "Contender", "kmeanslab_contenders", "peer_contenders", "peer_notes", "exact_inertia"]


@dataclass
class Fit:
    """What one fit produced, normalised across libraries."""

    labels: np.ndarray
    centers: np.ndarray
    n_iter: int
    ran: str = ""


@dataclass
class Failed:
    """A fit that raised: the contender is dropped from the cell, with this note."""

    note: str


@dataclass(frozen=True)
class Contender:
    """A name, whether it is kmeanslab's, and the factory of its fit calls."""

    name: str
    ours: bool
    make: Callable[..., Callable[[], Fit]]
    dense_only: bool = False


def guarded(fit: Callable[[], Fit]) -> Callable[[], Fit | Failed]:
    """``fit`` that returns :class:`Failed` instead of raising (a peer that rejects the input)."""

    def call():
        try:
            return fit()
        except Exception as exc:  # any library's error drops that contender only
            message = " ".join(str(exc).split())[:160]
            return Failed(f"{type(exc).__name__}: {message}")

    return call


# --------------------------------------------------------------------------- kmeanslab


def _ours(algorithm: str):
    def make(X, start, max_iter, tol):
        def fit():
            km = KMeanslabKMeans(len(start), init=start, n_init=1, max_iter=max_iter, tol=tol, algorithm=algorithm).fit(
                X
            )
            return Fit(km.labels_, km.cluster_centers_, int(km.n_iter_), getattr(km, "algorithm_", "?"))

        return fit

    return make


def kmeanslab_contenders(algorithms=None) -> list[Contender]:
    """``auto`` first, then each algorithm of ``kmeanslab.cluster.ALGORITHMS``."""
    algorithms = ALGORITHMS if algorithms is None else algorithms
    ordered = ["auto"] + [a for a in algorithms if a != "auto"] if "auto" in algorithms else list(algorithms)
    return [Contender(f"kmeanslab {a}", True, _ours(a)) for a in ordered]


# --------------------------------------------------------------------------- peers


def _sklearn(algorithm: str):
    def make(X, start, max_iter, tol):
        def fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                km = SklearnKMeans(len(start), init=start, n_init=1, max_iter=max_iter, tol=tol, algorithm=algorithm)
                km.fit(X)
            return Fit(km.labels_, km.cluster_centers_, int(km.n_iter_), algorithm)

        return fit

    return make


class _SklearnexLog(logging.Handler):
    """Collects sklearnex's INFO messages: they say whether oneDAL ran or sklearn did."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _which_ran(messages: list[str]) -> str:
    text = " ".join(messages).lower()
    if "fallback" in text or "original scikit-learn" in text:
        return "sklearn fallback"
    if "accelerated" in text or "onedal" in text:
        return "oneDAL"
    return "unknown"


def _sklearnex(X, start, max_iter, tol):
    from sklearnex.cluster import KMeans

    def fit():
        # Only our handler listens while the fit runs: sklearnex's INFO lines say what ran.
        logger = logging.getLogger("sklearnex")
        handler = _SklearnexLog()
        saved = logger.handlers[:], logger.level, logger.propagate
        logger.handlers, logger.propagate = [handler], False
        logger.setLevel(logging.INFO)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                km = KMeans(len(start), init=start, n_init=1, max_iter=max_iter, tol=tol, algorithm="lloyd").fit(X)
        finally:
            logger.handlers, logger.propagate = saved[0], saved[2]
            logger.setLevel(saved[1])
        return Fit(
            np.asarray(km.labels_), np.asarray(km.cluster_centers_), int(km.n_iter_), _which_ran(handler.messages)
        )

    return fit


def _faiss(iterations: Callable[[int], int] | None = None):
    """faiss-cpu; ``iterations(max_iter)`` gives the iterations to run (faiss has no tolerance)."""

    def make(X, start, max_iter, tol):
        import faiss  # type: ignore

        k, d = start.shape

        def fit():
            niter = max_iter if iterations is None else iterations(max_iter)
            km = faiss.Kmeans(
                d,
                k,
                niter=niter,
                verbose=False,
                seed=0,
                max_points_per_centroid=X.shape[0] // k + 1,  # >= n / k: no subsampling
                min_points_per_centroid=1,
            )
            km.train(X, init_centroids=np.ascontiguousarray(start, dtype=np.float32))
            _, labels = km.index.search(X, 1)
            return Fit(labels.ravel(), km.centroids, niter, "faiss")

        return fit

    return make


def _importable(module: str) -> str | None:
    """The module's version, or None when it cannot be imported."""
    try:
        mod = __import__(module)
    except Exception:  # an installed but broken peer is a missing peer
        return None
    return str(getattr(mod, "__version__", "?"))


def peer_notes() -> dict[str, str]:
    """Each peer: its version, or why it is skipped."""
    notes = {"scikit-learn": version("scikit-learn")}
    try:
        sklearnex = version("scikit-learn-intelex") if _importable("sklearnex") else None
    except Exception:
        sklearnex = None
    notes["scikit-learn-intelex"] = sklearnex or "skipped: not installed (pip install scikit-learn-intelex)"
    faiss = _importable("faiss")
    notes["faiss-cpu"] = faiss or "skipped: not installed (pip install faiss-cpu)"
    return notes


def peer_contenders(faiss_iterations: Callable[[int], int] | None = None, which=None) -> list[Contender]:
    """scikit-learn's Lloyd and Elkan, then sklearnex and faiss where installed.

    ``which`` (names) restricts the list; ``faiss_iterations`` fixes faiss's iteration count.
    """
    contenders = [
        Contender("sklearn lloyd", False, _sklearn("lloyd")),
        Contender("sklearn elkan", False, _sklearn("elkan")),
    ]
    if _importable("sklearnex"):
        contenders.append(Contender("sklearnex (oneDAL)", False, _sklearnex))
    if _importable("faiss"):
        contenders.append(Contender("faiss-cpu", False, _faiss(faiss_iterations), dense_only=True))
    return [c for c in contenders if which is None or c.name in which]


# --------------------------------------------------------------------------- scoring


def exact_inertia(X, centers: np.ndarray, labels: np.ndarray, chunk: int = 2**16) -> float:
    """Sum of squared distances of the rows to their centres, in float64, by row chunks.

    Dense X: the differences themselves. Sparse X (CSR): ``|x|^2 - 2 x.c + |c|^2`` per row.
    """
    C = np.asarray(centers, dtype=np.float64)
    labels = np.asarray(labels).ravel()
    total = 0.0
    sparse = hasattr(X, "tocsr")
    c_sq = np.einsum("ij,ij->i", C, C)
    for a in range(0, X.shape[0], chunk):
        b = min(a + chunk, X.shape[0])
        lab = labels[a:b]
        if sparse:
            rows = X[a:b].astype(np.float64)
            x_sq = np.asarray(rows.multiply(rows).sum(axis=1)).ravel()
            cross = np.asarray(rows @ C.T)[np.arange(b - a), lab]
            total += float(np.sum(np.maximum(x_sq - 2.0 * cross + c_sq[lab], 0.0)))
        else:
            diff = np.asarray(X[a:b], dtype=np.float64) - C[lab]
            total += float(np.einsum("ij,ij->", diff, diff))
    return total
