"""The issue's "done when" lines, each checked against the rows: PASS or MISSED, with the numbers.

================================  =======================================================
check                             rule (issue 17 unless said)
================================  =======================================================
``convergence``                   kmeanslab ``auto`` >= 2x faster than the fastest peer in
                                  the cell, >= 3x at k >= 100 on MNIST-60k-shift
``inertia``                       ``auto``'s inertia <= scikit-learn Lloyd's x (1 + 1e-3)
``auto``                          ``auto`` within 10% of the fastest of kmeanslab's own
                                  algorithms in the cell
``iteration``                     one full Lloyd iteration of kmeanslab within 1.5x of the
                                  cell's floor where compute bounds it, 3x where memory does
``memory``                        peak RSS of the ``auto`` fit <= X + 64 MiB + 16 B per row
``mini-batch``                    same inertia (within 0.5%) as scikit-learn's
                                  MiniBatchKMeans, at least 2x sooner
``out of core``                   an iteration from the file <= 1.5x the in-memory one
``seeding``                       k-means++ on the file <= 10 Lloyd iterations' time
``cold start`` (issue 11)         first ``KMeans(2).fit`` on Old Faithful <= 3 s after the
                                  import; first MNIST fit <= 5 s plus its warm time
================================  =======================================================
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Check", "check_rows", "CONVERGENCE_RATIO", "CONVERGENCE_RATIO_MNIST_LARGE_K"]

CONVERGENCE_RATIO = 2.0
CONVERGENCE_RATIO_MNIST_LARGE_K = 3.0
INERTIA_SLACK = 1e-3
AUTO_SLACK = 0.10
FLOOR_RATIO = {"compute": 1.5, "memory": 3.0}
MINIBATCH_SPEEDUP = 2.0
MINIBATCH_INERTIA_SLACK = 0.005
OUT_OF_CORE_RATIO = 1.5
SEEDING_ITERATIONS = 10.0


@dataclass(frozen=True)
class Check:
    """One target: ``status`` is PASS, MISSED or SKIPPED; ``detail`` gives the numbers."""

    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status} {self.name}: {self.detail}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISSED"


def _nan(x) -> bool:
    return x is None or x != x


def _convergence_checks(cell: dict) -> list[Check]:
    where = f"{cell['data']} k={cell['k']}"
    out = []
    need = CONVERGENCE_RATIO
    if cell["shape"] == "mnist" and cell["k"] >= 100:
        need = CONVERGENCE_RATIO_MNIST_LARGE_K
    if _nan(cell["auto_s"]) or _nan(cell["best_peer_s"]):
        out.append(Check(f"convergence {where}", "SKIPPED", "no auto or no peer timing"))
    else:
        ratio = cell["best_peer_s"] / cell["auto_s"]
        out.append(
            Check(
                f"convergence {where}",
                _verdict(ratio >= need),
                f"auto ({cell['auto_ran']}) {cell['auto_s']:.3f} s vs {cell['best_peer']} {cell['best_peer_s']:.3f} s: "
                f"{ratio:.2f}x (>= {need:g}x)",
            )
        )
    if not _nan(cell["auto_inertia_rel"]):
        rel = cell["auto_inertia_rel"]
        out.append(
            Check(
                f"inertia {where}",
                _verdict(rel <= INERTIA_SLACK),
                f"auto {rel:+.1e} relative to sklearn lloyd (<= {INERTIA_SLACK:g})",
            )
        )
    if not _nan(cell["auto_s"]) and not _nan(cell["fastest_own_s"]):
        slack = cell["auto_s"] / cell["fastest_own_s"] - 1.0
        out.append(
            Check(
                f"auto {where}",
                _verdict(slack <= AUTO_SLACK),
                f"auto ({cell['auto_ran']}) {cell['auto_s']:.3f} s vs fastest own {cell['fastest_own']} "
                f"{cell['fastest_own_s']:.3f} s: {100 * slack:+.0f}% (<= +{100 * AUTO_SLACK:.0f}%)",
            )
        )
    return out


def _iteration_check(row: dict) -> Check:
    limit = FLOOR_RATIO[row["bound"]]
    return Check(
        f"iteration {row['data']} k={row['k']}",
        _verdict(row["vs_floor"] <= limit),
        f"kmeanslab lloyd {row['ms_per_iter']:.1f} ms vs floor {row['floor_ms']:.1f} ms ({row['bound']}-bound): "
        f"{row['vs_floor']:.2f}x (<= {limit:g}x)",
    )


def _memory_check(row: dict) -> Check:
    where = f"memory {row['data']} k={row['k']}"
    if "note" in row:
        return Check(where, "SKIPPED", row["note"])
    return Check(
        where,
        _verdict(row["ok"]),
        f"auto ({row['ran']}) peaked {row['extra_mib']:.1f} MiB above X ({row['x_mib']:.0f} MiB) "
        f"(<= 64 MiB + 16 B x {row['n']:,} rows = {row['allowed_mib']:.1f} MiB)",
    )


def _minibatch_check(ours: dict) -> Check:
    speedup, rel = ours["speedup_vs_sklearn"], ours["inertia_vs_sklearn"]
    ok = speedup >= MINIBATCH_SPEEDUP and rel <= MINIBATCH_INERTIA_SLACK
    return Check(
        f"mini-batch {ours['data']} k={ours['k']}",
        _verdict(ok),
        f"stops {speedup:.2f}x sooner (>= {MINIBATCH_SPEEDUP:g}x) at inertia {100 * rel:+.2f}% vs sklearn's "
        f"(<= +{100 * MINIBATCH_INERTIA_SLACK:g}%)",
    )


def _out_of_core_check(row: dict) -> Check:
    ok = row["streamed"] and row["vs_in_memory"] <= OUT_OF_CORE_RATIO
    streamed = "" if row["streamed"] else "; NOT streamed (below the threshold?)"
    return Check(
        f"out of core {row['source']} n={row['n']:,} k={row['k']}",
        _verdict(ok),
        f"{row['ms_per_iter']:.0f} ms per iteration, {row['vs_in_memory']:.2f}x in memory (<= {OUT_OF_CORE_RATIO:g}x)"
        + streamed,
    )


def _seeding_check(row: dict) -> Check:
    name = f"seeding k={row['k']} on {row['n']:,} rows ({row['source']})"
    if "seeding_s" not in row:
        if "timed_out" in row:
            budget = row["timed_out"] / row["iteration_s"]
            return Check(name, "MISSED", f"not done after {row['timed_out']:.0f} s = {budget:.0f} Lloyd iterations")
        return Check(name, "SKIPPED", row.get("note", "not measured"))
    return Check(
        name,
        _verdict(row["in_iterations"] <= SEEDING_ITERATIONS),
        f"k-means++ {row['seeding_s']:.1f} s = {row['in_iterations']:.1f} Lloyd iterations of "
        f"{row['iteration_s']:.2f} s (<= {SEEDING_ITERATIONS:g})",
    )


def check_rows(rows: list[dict]) -> list[Check]:
    """Every check the rows allow, in the order of the issue's list."""
    checks: list[Check] = []
    for row in rows:
        if row["section"] == "convergence-cell":
            checks += _convergence_checks(row)
    for row in rows:
        if row["section"] == "iteration" and row.get("contender") == "kmeanslab lloyd" and "ms_per_iter" in row:
            checks.append(_iteration_check(row))
    for row in rows:
        if row["section"] == "memory":
            checks.append(_memory_check(row))
    for row in rows:
        if row["section"] == "minibatch" and row["contender"].startswith("kmeanslab"):
            checks.append(_minibatch_check(row))
    for row in rows:
        if row["section"] == "out-of-core" and row["source"] != "in memory":
            checks.append(_out_of_core_check(row))
        elif row["section"] == "seeding-file":
            checks.append(_seeding_check(row))
    for row in rows:
        if row["section"] == "check":  # ready-made lines: cold start, silhouette, skipped rows
            checks.append(Check(row["name"], row["status"], row["detail"]))
    return checks
