"""How much work each section of the demo does, and the progress counter the sections tick."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..experiments import ACCURACY_KS, run_seeds

__all__ = ["DemoConfig", "Ticker"]


@dataclass(frozen=True)
class DemoConfig:
    """How much work each part of the demo does (:meth:`quick` for a smoke test).

    Every number the report quotes from fits is a mean ± std over ``seeds`` seeds (5 by
    default; the figures of single fits show the first of them). The full configuration,
    about 1130 fits and 37 figures with MNIST and the text extra present, took 38 s of CPU
    (one core, second run: numba's kernels cached) and 69 s of wall time on a 2-core machine
    shared with other work (load about 6); the choosing-k section's 481 small fits, six
    figures and silhouettes are 5 s of CPU of it, the MNIST section the largest part.
    """

    seed: int = 0
    #: Seeds behind every mean ± std the report quotes.
    seeds: int = 5
    faithful_ks: tuple = (2, 3, 4, 5, 6)
    faithful_elbow_ks: tuple = tuple(range(1, 9))
    blobs_n: int = 1000
    blobs_ks: tuple = tuple(range(1, 13))
    blobs_runs: int = 10
    digits01_ks: tuple = tuple(range(1, 11))
    digits01_runs: int = 5
    digits_elbow_ks: tuple = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20)
    digits_ks: tuple = ACCURACY_KS
    digits_init_seeds: int = 10
    mnist_train: int = 1000
    mnist_grid_ks: tuple = (10, 20, 40)
    mnist_elbow_ks: tuple = (1, 2, 4, 6, 8, 10, 15, 20, 30, 40)
    mnist_init_k: int = 20
    mnist_init_seeds: int = 10
    # The notebook's range, 5..24 and 100, at every k to 10 and every other k after; and 40, so
    # that every centroid grid's k has its mean ± std. MNIST fits are the demo's dearest: these
    # 15 ks (75 fits) instead of all 21 keep the demo under a minute.
    mnist_ks: tuple = (5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24, 40, 100)
    text_token_k: int = 6
    text_sentence_k: int = 3
    # Choosing k: each range goes well past the k expected, so that a criterion that runs away
    # to a large k shows it. Fits per k, initialisations per fit, gap reference sets.
    choosek_faithful_ks: tuple = tuple(range(1, 11))
    choosek_blobs_ks: tuple = tuple(range(1, 13))
    choosek_digits_ks: tuple = tuple(range(1, 16))
    choosek_repeats: int = 3
    choosek_n_init: int = 3
    choosek_refs: int = 10

    @classmethod
    def quick(cls) -> DemoConfig:
        """A few fits per experiment: every section and figure, in seconds."""
        return cls(
            seeds=2,
            faithful_ks=(2, 3),
            faithful_elbow_ks=(1, 2, 3, 4),
            blobs_n=300,
            blobs_ks=tuple(range(1, 8)),
            blobs_runs=2,
            digits01_ks=(1, 2, 3, 4),
            digits01_runs=1,
            digits_elbow_ks=(1, 5, 10, 15),
            digits_ks=(5, 10, 15),
            digits_init_seeds=2,
            mnist_grid_ks=(10, 20),
            mnist_elbow_ks=(1, 5, 10, 20),
            mnist_init_seeds=2,
            mnist_ks=(10, 20),
            choosek_faithful_ks=(1, 2, 3, 4),
            choosek_blobs_ks=tuple(range(1, 7)),
            choosek_digits_ks=(1, 2, 4, 6, 8, 10, 12),
            choosek_repeats=2,
            choosek_n_init=1,
            choosek_refs=3,
        )

    def seed_list(self) -> list[int]:
        """The seeds of every mean ± std; the single fits shown are from the first."""
        return run_seeds(self.seeds, self.seed)


class Ticker:
    """Counts fits for a progress bar (or for nothing)."""

    def __init__(self, advance: Callable[[int], None] | None = None):
        self._advance = advance

    def __call__(self) -> None:
        if self._advance is not None:
            self._advance(1)
