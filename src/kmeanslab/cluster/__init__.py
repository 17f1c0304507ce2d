"""k-means itself: the estimators, the course's functional API, seeding, and model files.

(Stage one of the layered layout: the names below are this layer's public interface; the
engine behind them moves in underneath.)
"""

from ..engine import (
    ALGORITHMS,
    EMPTY_POLICIES,
    STOP_RULES,
    associate_centroids,
    compute_sq_dists,
    k_means,
    rand_init,
    update_centroids,
)
from ..estimator import KMeans
from ..initialization import INIT_METHODS
from ..minibatch import MiniBatchKMeans
from ..persistence import load

__all__ = [
    "ALGORITHMS",
    "EMPTY_POLICIES",
    "INIT_METHODS",
    "STOP_RULES",
    "KMeans",
    "MiniBatchKMeans",
    "associate_centroids",
    "compute_sq_dists",
    "k_means",
    "load",
    "rand_init",
    "update_centroids",
]
