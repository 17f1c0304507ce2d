"""Markdown tables of the rows, ready to paste into ``benchmarks/RESULTS.md``."""

from __future__ import annotations

__all__ = ["fmt", "markdown_table", "COLUMNS", "TITLES", "format_tables"]


def fmt(value, spec: str = "") -> str:
    """A cell: ``-`` for a missing value or NaN, else ``format(value, spec)``."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format(value, spec)


def markdown_table(columns: list[tuple[str, str, str]], rows: list[dict]) -> str:
    """``columns`` are (header, key, format spec); a row without a key shows ``-``."""
    lines = ["| " + " | ".join(h for h, _, _ in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for r in rows:
        cells = [fmt(r.get(key), spec) for _, key, spec in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


COLUMNS = {
    "convergence": [
        ("k", "k", ""),
        ("max_iter", "max_iter", ""),
        ("contender", "contender", ""),
        ("ran", "ran", ""),
        ("seconds", "seconds", ".3f"),
        ("iterations", "iterations", ""),
        ("converged", "converged", ""),
        ("ms/iter", "ms_per_iter", ".1f"),
        ("× vs best peer", "vs_best_peer", ".2f"),
        ("inertia vs sklearn lloyd", "inertia_rel", "+.1e"),
        ("label agreement", "agreement", ".4f"),
        ("peak MiB (≥)", "peak_mib", ".0f"),
        ("note", "note", ""),
    ],
    "iteration": [
        ("k", "k", ""),
        ("contender", "contender", ""),
        ("ran", "ran", ""),
        ("ms/iter", "ms_per_iter", ".1f"),
        ("× vs sklearn", "vs_sklearn", ".2f"),
        ("floor ms", "floor_ms", ".2f"),
        ("bound", "bound", ""),
        ("× floor", "vs_floor", ".2f"),
        ("note", "note", ""),
    ],
    "memory": [
        ("data", "data", ""),
        ("k", "k", ""),
        ("ran", "ran", ""),
        ("X MiB", "x_mib", ".0f"),
        ("RSS before fit MiB", "before_fit_mib", ".0f"),
        ("peak MiB", "peak_mib", ".0f"),
        ("above X MiB", "extra_mib", ".1f"),
        ("allowed MiB", "allowed_mib", ".1f"),
        ("iterations", "iterations", ""),
        ("seconds", "seconds", ".2f"),
        ("note", "note", ""),
    ],
    "minibatch": [
        ("data", "data", ""),
        ("k", "k", ""),
        ("contender", "contender", ""),
        ("seconds to stop", "seconds", ".3f"),
        ("steps", "steps", ".0f"),
        ("inertia", "inertia", ".6g"),
        ("inertia vs exact Lloyd", "vs_exact", "+.2%"),
        ("inertia vs sklearn", "inertia_vs_sklearn", "+.2%"),
        ("× sooner than sklearn", "speedup_vs_sklearn", ".2f"),
    ],
    "out-of-core": [
        ("source", "source", ""),
        ("n", "n", ","),
        ("d", "d", ""),
        ("k", "k", ""),
        ("file MiB", "file_mib", ".0f"),
        ("threshold MiB", "threshold_mib", ".0f"),
        ("streamed", "streamed", ""),
        ("1-iteration fit s", "one_iteration_fit_s", ".2f"),
        ("ms/iter", "ms_per_iter", ".0f"),
        ("× in memory", "vs_in_memory", ".2f"),
    ],
    "seeding-file": [
        ("source", "source", ""),
        ("n", "n", ","),
        ("k", "k", ""),
        ("k-means++ + 1 iteration s", "fit_s", ".1f"),
        ("seeding s", "seeding_s", ".1f"),
        ("one Lloyd iteration s", "iteration_s", ".2f"),
        ("seeding in iterations", "in_iterations", ".1f"),
        ("rounds", "rounds", ""),
    ],
    "seeding": [
        ("k", "k", ""),
        ("contender", "contender", ""),
        ("seconds", "seconds", ".3f"),
        ("× vs sklearn", "vs_sklearn", ".2f"),
        ("peak MiB (≥)", "peak_mib", ".0f"),
    ],
    "scaling": [
        ("n", "n", ""),
        ("k", "k", ""),
        ("ms/iter", "ms_per_iter", ".2f"),
        ("ratio to first", "ratio_to_first", ".2f"),
        ("n ratio", "linear_ratio", ".0f"),
        ("vs linear", "vs_linear", ".3f"),
    ],
}

TITLES = {
    "convergence": "To convergence, tol 1e-4, same initial centres",
    "iteration": "One full Lloyd iteration (every distance), against the floor",
    "memory": "Peak memory of each `auto` fit (fresh process)",
    "minibatch": "Mini-batch: stop times at matched final inertia (batch 1024, same init, defaults)",
    "out-of-core": "Out of core: full Lloyd from a `.npy` in the page cache",
    "seeding-file": "k-means++ seeding on the file",
    "seeding": "Greedy k-means++ in memory",
    "scaling": "Scaling in n (d = 32, full Lloyd)",
}


def format_tables(rows: list[dict]) -> str:
    """One table per section; the matrix's sections get one table per shape (its title names it)."""
    out = []
    for section, columns in COLUMNS.items():
        part = [r for r in rows if r.get("section") == section]
        if not part:
            continue
        if section in ("convergence", "iteration"):
            for data in dict.fromkeys(r["data"] for r in part):
                group = [r for r in part if r["data"] == data]
                out.append(f"\n### {TITLES[section]}: {data}, float32\n")
                out.append(markdown_table(columns, group))
        else:
            out.append(f"\n### {TITLES[section]}\n")
            out.append(markdown_table(columns, part))
    for r in rows:  # what another script printed (cold start, silhouette), as it printed it
        if r.get("section") == "text":
            out.append(f"\n### {r['title']}\n\n{r['body'].rstrip()}")
    return "\n".join(out)
