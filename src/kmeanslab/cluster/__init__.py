"""k-means itself: the estimators, the course's functional API, seeding, and model files.

(Stage one of the layered layout: the names below are this layer's public interface; the
engine behind them moves in underneath.)
"""

from .._assigners import ALGORITHMS, choose_algorithm
from ..engine import (
    EMPTY_POLICIES,
    STOP_RULES,
    LloydResult,
    associate_centroids,
    compute_sq_dists,
    k_means,
    lloyd,
    rand_init,
    update_centroids,
)
from ..estimator import KMeans
from ..initialization import INIT_METHODS, kmeans_plusplus
from ..minibatch import MiniBatchKMeans
from ..persistence import load

__all__ = [
    "ALGORITHMS",
    "EMPTY_POLICIES",
    "INIT_METHODS",
    "STOP_RULES",
    "KMeans",
    "LloydResult",
    "MiniBatchKMeans",
    "associate_centroids",
    "choose_algorithm",
    "compute_sq_dists",
    "k_means",
    "kmeans_plusplus",
    "lloyd",
    "load",
    "rand_init",
    "update_centroids",
]
