"""Benchmarks of kmeanslab, run from the repository root as ``python -m benchmarks.<name>``.

* ``compare``: speed against scikit-learn (issue 5; results in ``benchmarks/RESULTS.md``);
* ``minibatch_dask``: mini-batch, streaming and Dask against the exact fit.
"""
