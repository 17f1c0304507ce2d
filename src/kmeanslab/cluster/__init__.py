"""k-means clustering: the estimators, the course's functional API, seeding, and model files.

k-means splits n points (the rows of ``X``) into k clusters, each represented by its *centre*
(centroid), so as to minimise the *inertia*: the sum of squared Euclidean distances from every
point to its nearest centre (divided by n, it is the *loss* J of the course). Lloyd's
algorithm alternates two steps from initial centres until they settle:

* *assignment*: each point joins the cluster of its nearest centre (ties to the lowest index);
* *update*: each centre moves to the mean of the points assigned to it. A cluster left with no
  point is *empty*; its centre is relocated to a far point, set to zeros, or kept
  (``EMPTY_POLICIES``).

Neither step can increase the inertia, so the loop stops: when no label changes, or by a stop
rule on ``tol`` (``STOP_RULES``: the centres' total squared *shift*, or the relative decrease
of the *loss*), or after ``max_iter`` iterations. Lloyd's algorithm finds a local minimum that
depends on the initial centres, chosen by *seeding* (``INIT_METHODS``: k-means++, random data
points, a Gaussian or the bounding box of the data); ``n_init`` runs keep the best. The
assignments can skip distances that triangle-inequality bounds prove useless (``ALGORITHMS``:
Hamerly, Elkan, Yinyang), with the same result as plain Lloyd.

One step by hand, then the whole loop:

>>> import numpy as np
>>> from kmeanslab.cluster import KMeans, associate_centroids, update_centroids
>>> X = np.array([[0.0, 0.0], [0.0, 2.0], [4.0, 0.0], [4.0, 2.0]])
>>> W = np.array([[0.0, 1.0], [1.0, 1.0]])  # two initial centres
>>> loss, assoc = associate_centroids(X, W)  # assignment: the nearest centre of each point
>>> assoc.tolist(), loss  # squared distances 1, 1, 10, 10
([0, 0, 1, 1], 5.5)
>>> W = update_centroids(X, 2, assoc)  # update: each centre moves to its points' mean
>>> W.tolist()
[[0.0, 1.0], [4.0, 1.0]]
>>> km = KMeans(2, init=np.array([[0.0, 1.0], [1.0, 1.0]])).fit(X)
>>> km.cluster_centers_.tolist(), km.inertia_, km.n_iter_  # the second pass changes no label
([[0.0, 1.0], [4.0, 1.0]], 4.0, 2)

Contents
--------
:class:`KMeans`, :class:`MiniBatchKMeans`
    scikit-learn compatible estimators (siblings under one base), with ``save``; :func:`load`
    reads a model file back into the estimator that wrote it.
:func:`lloyd`, :class:`LloydResult`
    The one Lloyd loop, written against the block sources of :mod:`kmeanslab.scale` (X in
    memory, streamed from a file, or on a Dask cluster).
:func:`kmeans_plusplus`, :func:`kmeans_parallel`
    Seeding in memory (greedy k-means++) and over blocks (k-means‖).
:func:`compute_sq_dists`, :func:`associate_centroids`, :func:`update_centroids`, :func:`rand_init`, :func:`k_means`
    The course assignment's functional API.
``INIT_METHODS``, ``ALGORITHMS``, ``STOP_RULES``, ``EMPTY_POLICIES``, ``METRICS``
    The names of the choices (the CLI and the docs read them); ``SEEDERS``, ``ASSIGNERS``,
    ``STOP_TESTS``, ``EMPTY_CLUSTER_HANDLERS`` and ``ESTIMATORS`` map each name to what
    implements it.
"""

from ._assigners import ALGORITHMS, ASSIGNERS, choose_algorithm
from ._cosine import METRICS
from ._functional import associate_centroids, compute_sq_dists, k_means, rand_init, update_centroids
from ._kmeans import KMeans
from ._lloyd import EMPTY_CLUSTER_HANDLERS, EMPTY_POLICIES, STOP_RULES, STOP_TESTS, LloydResult, lloyd
from ._load import ESTIMATORS, load
from ._minibatch import MiniBatchKMeans
from ._seeding import INIT_METHODS, SEEDERS, initial_centers, kmeans_parallel, kmeans_plusplus

__all__ = [
    "ALGORITHMS",
    "ASSIGNERS",
    "EMPTY_CLUSTER_HANDLERS",
    "EMPTY_POLICIES",
    "ESTIMATORS",
    "INIT_METHODS",
    "METRICS",
    "SEEDERS",
    "STOP_RULES",
    "STOP_TESTS",
    "KMeans",
    "LloydResult",
    "MiniBatchKMeans",
    "associate_centroids",
    "choose_algorithm",
    "compute_sq_dists",
    "initial_centers",
    "k_means",
    "kmeans_parallel",
    "kmeans_plusplus",
    "lloyd",
    "load",
    "rand_init",
    "update_centroids",
]
