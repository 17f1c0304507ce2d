"""How good is a clustering, and how many clusters are there? Internal scores, without true labels.

k-means always returns k clusters, whether the data has k or not. These scores judge a
partition from the data alone, so that partitions with different k can be compared:

- the **silhouette** (Rousseeuw 1987) of a point compares its mean distance ``a`` to its own
  cluster with its mean distance ``b`` to the nearest other one: ``(b - a) / max(a, b)``.
  :func:`silhouette_samples` and :func:`silhouette_score` compute it exactly, every pairwise
  distance once, in tiles (memory ``O(tile² + n k)``, never ``n x n``);
  :func:`simplified_silhouette` uses distances to the centres instead (``O(n k d)``);
- the **Calinski-Harabasz** index (:func:`calinski_harabasz_score`): between-cluster over
  within-cluster dispersion, each per degree of freedom;
- the **Davies-Bouldin** index (:func:`davies_bouldin_score`): the mean over clusters of the
  worst (spread + spread) / separation ratio with another cluster;
- the **gap statistic** (:func:`gap_statistic`, Tibshirani, Walther & Hastie 2001): how far the
  log loss falls below that of structureless reference data, with the 1-standard-error rule
  (the only criterion here that can answer k = 1);
- **stability** (:func:`stability`): the mean pairwise adjusted Rand index of partitions found
  from other seeds or bootstrap samples.

The silhouette, Calinski-Harabasz and Davies-Bouldin scores equal scikit-learn's functions of
the same names, to 1e-10 relative or better in float64 (the mean scores to about 1e-14).
:data:`SCORES` lists the scores of one partition with their direction, for the experiments and
the command line.

Example
-------
>>> from kmeanslab.metrics import silhouette_score, calinski_harabasz_score, davies_bouldin_score
>>> X, labels = [[0.0], [1.0], [9.0], [10.0]], [0, 0, 1, 1]
>>> round(silhouette_score(X, labels), 3), calinski_harabasz_score(X, labels), round(davies_bouldin_score(X, labels), 3)
(0.889, 162.0, 0.111)
"""

from collections.abc import Callable
from dataclasses import dataclass

from .agreement import STABILITY_METHODS, mean_pairwise_ari, stability
from .gap import GAP_REFERENCES, ReferenceBox, gap_choice, gap_statistic
from .indices import calinski_harabasz_score, davies_bouldin_score
from .silhouette import (
    SILHOUETTE_METRICS,
    silhouette_samples,
    silhouette_score,
    simplified_silhouette,
    simplified_silhouette_samples,
)


@dataclass(frozen=True)
class Score:
    """A score of one partition: ``function(X, labels) -> float`` and which way is better."""

    name: str
    function: Callable
    greater_is_better: bool
    title: str


#: The scores of one partition, by name (the choices of ``kmeanslab elbow --metric``).
SCORES = {
    score.name: score
    for score in (
        Score("silhouette", silhouette_score, True, "silhouette (mean)"),
        Score("simplified_silhouette", simplified_silhouette, True, "simplified silhouette (mean)"),
        Score("calinski_harabasz", calinski_harabasz_score, True, "Calinski-Harabasz index"),
        Score("davies_bouldin", davies_bouldin_score, False, "Davies-Bouldin index"),
    )
}

__all__ = [
    "GAP_REFERENCES",
    "SCORES",
    "SILHOUETTE_METRICS",
    "STABILITY_METHODS",
    "ReferenceBox",
    "Score",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "gap_choice",
    "gap_statistic",
    "mean_pairwise_ari",
    "silhouette_samples",
    "silhouette_score",
    "simplified_silhouette",
    "simplified_silhouette_samples",
    "stability",
]
