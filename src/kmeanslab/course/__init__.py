"""The course demo: the experiments of the course notebooks as one report (``make demo``).

This package is content, not library: which datasets, which k, which sentences, and what the
report says about them. The machinery it uses is the library's: the experiments
(:mod:`kmeanslab.experiments`), the report document and its renderer
(:mod:`kmeanslab.experiments.report`) and the text embeddings (:mod:`kmeanslab.text`), which is
why it sits above all three.

One module per section, in the order of the course: :mod:`.faithful` (Old Faithful, raw and
standardised), :mod:`.blobs` (the elbow with a validation split), :mod:`.digits` (digits 0/1,
then the ten digits as a classifier), :mod:`.choosing_k` (every criterion for k on Old Faithful,
the blobs and the digits), :mod:`.mnist` (centroid grids, initialisations, accuracy
against k) and :mod:`.text_clusters` (token and sentence embeddings). :mod:`.demo` runs them.
"""

from .demo import DemoConfig, run_demo

__all__ = ["DemoConfig", "run_demo"]
