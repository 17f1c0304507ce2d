"""The experiments around k-means that the course notebooks ran, as library functions.

:mod:`~kmeanslab.experiments.core` holds the experiments (elbow, clusters as a classifier,
initialisations compared), :mod:`~kmeanslab.experiments.choose_k` every criterion for the number
of clusters and a recommendation, :mod:`~kmeanslab.experiments.plots` their figures and
:mod:`~kmeanslab.experiments.report` the report: a document of sections, its HTML page and the
report on a user's data. The course demo, which is content rather than library, is
:mod:`kmeanslab.course`.
"""

from .choose_k import CRITERIA, KChoice, choose_k, planned_fits
from .core import (
    ACCURACY_KS,
    ELBOW_METRICS,
    INITS,
    ClusterClassifier,
    accuracy_vs_k,
    balanced_indices,
    clustering_scores,
    compare_inits,
    elbow,
    find_knee,
    fit_range,
    learning_curve,
    mnist_split,
    purity_score,
    representative_indices,
    run_seeds,
    summarize_runs,
)

__all__ = [
    "ACCURACY_KS",
    "CRITERIA",
    "ELBOW_METRICS",
    "INITS",
    "ClusterClassifier",
    "KChoice",
    "accuracy_vs_k",
    "balanced_indices",
    "choose_k",
    "clustering_scores",
    "compare_inits",
    "elbow",
    "find_knee",
    "fit_range",
    "learning_curve",
    "mnist_split",
    "planned_fits",
    "purity_score",
    "representative_indices",
    "run_seeds",
    "summarize_runs",
]
