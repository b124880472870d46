"""Global sensitivity of a run's figures to a scenario's parameters, with SALib.

Sobol: first-order indices (the share of a figure's variance a parameter causes alone) and total
ones (alone and with the others), with bootstrap 95% intervals; it costs N x (D + 2) points for D
parameters. Morris screening: the mean absolute elementary effect (mu*), with its interval, for many
parameters at N x (D + 1) points. Every point runs at the same seeds (1..K) and its figures are
averaged over them, so that the differences between points come from the parameters, not from luck.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .params import Param
from .points import Figure, run_points

METHODS = ("sobol", "morris")
MORRIS_LEVELS = 4
SAMPLE_SEED = 1          # SALib's sampling and bootstrap: the same command gives the same table
MATTERS_TOTAL = 0.05     # Sobol: a parameter matters if its total index's interval reaches above this
MATTERS_SHARE = 0.1      # Morris: ... if its mu* is at least this share of the largest mu*
# Sobol indices are shares of variance, in [0, 1]: estimates beyond it by more than OUTSIDE, or
# intervals wider than +-WIDE, are the noise of too few samples, and the figure's indices are
# flagged unreliable rather than read as "driven by".
UNRELIABLE_OUTSIDE = 0.1
UNRELIABLE_WIDE = 0.3


def problem_of(params: Sequence[Param]) -> dict[str, Any]:
    return {"num_vars": len(params), "names": [p.name for p in params], "bounds": [[p.low, p.high] for p in params]}


def sample(method: str, params: Sequence[Param], samples: int) -> np.ndarray:
    problem = problem_of(params)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, samples, calc_second_order=False, seed=SAMPLE_SEED)
    from SALib.sample import morris

    return morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=SAMPLE_SEED)


def runs_needed(method: str, parameters: int, samples: int, seeds: int) -> int:
    return samples * (parameters + (2 if method == "sobol" else 1)) * seeds


@dataclass
class Sensitivity:
    method: str
    points: pd.DataFrame    # one row per point: its parameters and its figures (mean over seeds)
    indices: pd.DataFrame   # one row per (figure, parameter)
    sentences: list[str]    # one per figure: the parameters that matter


def analyse(method: str, params: Sequence[Param], inputs: np.ndarray, outputs: pd.DataFrame) -> pd.DataFrame:
    problem = problem_of(params)
    rows = []
    for label in outputs.columns:
        y = outputs[label].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):  # undefined at some points: SALib cannot use those
            rows += [{"figure": label, "parameter": p.name, "note": "undefined at some points"} for p in params]
            continue
        if np.ptp(y) == 0:  # no variance to share out: say so rather than print indices of 0
            rows += [{"figure": label, "parameter": p.name, "note": f"the same ({y[0]:g}) at every point"}
                     for p in params]
            continue
        if method == "sobol":
            from SALib.analyze import sobol

            si = sobol.analyze(problem, y, calc_second_order=False, conf_level=0.95, seed=SAMPLE_SEED)
            warning = unreliable(si, len(y) // (len(params) + 2))
            for i, p in enumerate(params):
                rows.append({"figure": label, "parameter": p.name,
                             "first": si["S1"][i], "first_low": si["S1"][i] - si["S1_conf"][i],
                             "first_high": si["S1"][i] + si["S1_conf"][i],
                             "total": si["ST"][i], "total_low": si["ST"][i] - si["ST_conf"][i],
                             "total_high": si["ST"][i] + si["ST_conf"][i], "note": "", "warning": warning})
        else:
            from SALib.analyze import morris

            si = morris.analyze(problem, inputs, y, conf_level=0.95, num_levels=MORRIS_LEVELS, seed=SAMPLE_SEED)
            for i, p in enumerate(params):
                rows.append({"figure": label, "parameter": p.name, "mu_star": si["mu_star"][i],
                             "mu_star_low": si["mu_star"][i] - si["mu_star_conf"][i],
                             "mu_star_high": si["mu_star"][i] + si["mu_star_conf"][i],
                             "sigma": si["sigma"][i], "note": ""})
    return pd.DataFrame(rows)


def unreliable(si: Any, samples: int) -> str:
    """Why a figure's Sobol indices cannot be read (an index outside [0, 1], an interval too wide),
    or "" where they can."""
    indices = np.concatenate([si["S1"], si["ST"]])
    widths = np.concatenate([si["S1_conf"], si["ST_conf"]])
    outside = indices[(indices < -UNRELIABLE_OUTSIDE) | (indices > 1 + UNRELIABLE_OUTSIDE)]
    reasons = []
    if outside.size:
        reasons.append(f"an index of {outside[np.argmax(np.abs(outside - 0.5))]:.2f}, where indices are shares of "
                       "variance, between 0 and 1")
    if np.nanmax(widths) > UNRELIABLE_WIDE or not np.all(np.isfinite(widths)):
        reasons.append(f"95% intervals up to +-{np.nanmax(widths):.2f}")
    if not reasons:
        return ""
    return (f"unreliable with --samples {samples} ({'; '.join(reasons)}); fix: more --samples (a power of 2: "
            "Sobol indices settle at hundreds to thousands)")


def sentence(method: str, label: str, rows: pd.DataFrame) -> str:
    """Which parameters matter to this figure, most first, and which do not."""
    notes = rows["note"].fillna("")
    if notes.str.len().any():
        return f"{label}: {notes.iloc[0]} (no indices)."
    if method == "sobol":
        ranked = rows.sort_values("total", ascending=False)
        matters = ranked[ranked["total_high"] > MATTERS_TOTAL]
        shown = [f"{r.parameter} (total {r.total:.2f} [{r.total_low:.2f}, {r.total_high:.2f}])"
                 for r in matters.itertuples()]
        criterion = f"total-order index's interval above {MATTERS_TOTAL}"
    else:
        ranked = rows.sort_values("mu_star", ascending=False)
        top = float(ranked["mu_star"].iloc[0])
        matters = ranked[ranked["mu_star"] >= MATTERS_SHARE * top] if top > 0 else ranked.iloc[:0]
        shown = [f"{r.parameter} (mu* {r.mu_star:.3g})" for r in matters.itertuples()]
        criterion = f"mu* at least {MATTERS_SHARE:.0%} of the largest"
    rest = [p for p in ranked["parameter"] if p not in set(matters["parameter"])]
    warning = str(rows["warning"].fillna("").iloc[0]) if "warning" in rows else ""
    text = f"{label}: " + (f"UNRELIABLE, {warning}; as estimated, " if warning else "")
    text += ("driven by " + ", then ".join(shown) if shown else "no parameter matters")
    text += f" ({criterion})" + (f"; little or nothing from {', '.join(rest)}" if rest else "")
    return text + "."


def run_sensitivity(scenario: str, fixed: dict[str, Any], params: Sequence[Param], figures: Sequence[Figure],
                    method: str, samples: int, seeds: Sequence[int], client: Any = None,
                    on_done: Callable[[int, int], None] | None = None) -> Sensitivity:
    inputs = sample(method, params, samples)
    whole = [i for i, p in enumerate(params) if p.integer]
    inputs[:, whole] = np.round(inputs[:, whole])  # a whole-number key runs (and is analysed) at whole numbers
    points = [{p.name: p.value(value) for p, value in zip(params, row, strict=True)} for row in inputs]
    results = run_points(scenario, fixed, points, seeds, figures, client, on_done)
    means = pd.DataFrame([{f.label: float(np.mean([r[f.label] for r in by_seed])) for f in figures}
                          for by_seed in results])
    indices = analyse(method, params, inputs, means)
    sentences = [sentence(method, f.label, indices[indices["figure"] == f.label]) for f in figures]
    table = pd.concat([pd.DataFrame(inputs, columns=[p.name for p in params]), means], axis=1)
    return Sensitivity(method, table, indices, sentences)


def plot(result: Sensitivity, path: Path) -> None:
    """One panel per figure: each parameter's index with its interval (Sobol: first and total order)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(result.indices["figure"]))
    fig, axes = plt.subplots(len(labels), 1, figsize=(8, 1.2 + 0.5 * result.indices["parameter"].nunique()
                                                          * len(labels) + 0.6 * len(labels)), squeeze=False)
    for ax, label in zip(axes[:, 0], labels, strict=True):
        rows = result.indices[result.indices["figure"] == label]
        y = np.arange(len(rows))
        if rows["note"].fillna("").str.len().any():
            ax.set_title(f"{label}: {rows['note'].iloc[0]}", fontsize=9)
            continue
        if result.method == "sobol":
            for offset, key, colour in ((-0.15, "first", "tab:blue"), (0.15, "total", "tab:orange")):
                spread = [rows[key] - rows[f"{key}_low"], rows[f"{key}_high"] - rows[key]]
                ax.errorbar(rows[key], y + offset, xerr=spread,
                            fmt="o", color=colour, label=f"{key} order", capsize=3)
            ax.axvline(MATTERS_TOTAL, color="grey", linestyle=":", linewidth=1)
            ax.set_xlabel("Sobol index (95% interval)")
        else:
            ax.errorbar(rows["mu_star"], y, xerr=[rows["mu_star"] - rows["mu_star_low"],
                                                   rows["mu_star_high"] - rows["mu_star"]],
                        fmt="o", color="tab:blue", label="mu*", capsize=3)
            ax.set_xlabel("Morris mu* (95% interval), in the figure's units")
        ax.set_yticks(y, list(rows["parameter"]), fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(result: Sensitivity, folder: Path, cost: str) -> None:
    result.indices.to_csv(folder / "indices.csv", index=False)
    result.points.to_csv(folder / "points.csv", index=False)
    plot(result, folder / "sensitivity.png")
    (folder / "sensitivity.txt").write_text("\n".join([*result.sentences, "", cost]) + "\n", encoding="utf-8")
