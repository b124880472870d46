"""Fitting a scenario's parameters to observed figures with Optuna.

A trial is one point of the parameters' ranges, run at seeds 1..K (the same for every trial, so
that trials differ by their parameters, not their luck; the seeds are recorded with each trial).
Its loss is the mean over targets of ((simulated - observed) / uncertainty)^2, the simulated figure
being the mean over the seeds. The study lives in a SQLite file: run the same command again and it
goes on from the trials already there (a trial cut short is marked failed and run afresh). Trials run
in batches, one trial's runs per Dask worker at a time. A range spanning a factor of 10 or more
(with a positive low end) is searched on a log scale.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .params import ExploreError, Param
from .points import run_points
from .targets import Target

STUDY_NAME = "calibrate"
SAMPLER_SEED = 1
GOOD_SHARE = 0.1   # the spread of parameters is over the best 10% of trials (at least GOOD_AT_LEAST)
GOOD_AT_LEAST = 3
MET_WITHIN = 2.0   # a target is met when the best trial's figure is within 2 of its uncertainties of the observed


def log_scale(param: Param) -> bool:
    return param.low > 0 and param.high / param.low >= 10


def loss_of(targets: Sequence[Target], simulated: dict[str, float]) -> float:
    terms = [((simulated[t.figure.label] - t.observed) / t.uncertainty) ** 2 for t in targets]
    return float(np.mean(terms)) if all(math.isfinite(x) for x in terms) else math.inf


@dataclass
class Calibration:
    study: Any
    params: list[Param]
    targets: list[Target]
    seeds: list[int]

    @property
    def complete(self) -> list[Any]:
        import optuna

        return [t for t in self.study.trials if t.state == optuna.trial.TrialState.COMPLETE]

    def best(self) -> dict[str, float]:
        return {p.name: p.value(self.study.best_trial.params[p.name]) for p in self.params}

    def table(self) -> pd.DataFrame:
        rows = []
        for trial in self.complete:
            rows.append({"trial": trial.number, "loss": trial.value, **trial.params,
                         "seeds": " ".join(str(s) for s in trial.user_attrs.get("seeds", [])),
                         **{f"simulated:{k}": v for k, v in trial.user_attrs.get("simulated", {}).items()}})
        return pd.DataFrame(rows).sort_values("loss", kind="stable") if rows else pd.DataFrame(rows)

    def target_table(self) -> pd.DataFrame:
        """Each target against the best trial's figure (the mean over its seeds): how many uncertainties
        apart (z) and whether that is within MET_WITHIN."""
        best = self.study.best_trial.user_attrs.get("simulated", {})
        rows = []
        for target in self.targets:
            simulated = float(best.get(target.figure.label, math.nan))
            z = (simulated - target.observed) / target.uncertainty
            day = target.figure.day
            when = target.date.isoformat() if target.date else "last day" if day is None else f"day {day}"
            rows.append({"figure": target.figure.key, "when": when, "day": day, "observed": target.observed,
                         "uncertainty": target.uncertainty, "simulated": simulated, "z": z,
                         "met": bool(abs(z) <= MET_WITHIN), "source": " ".join(target.source.split())})
        return pd.DataFrame(rows)

    def spread(self) -> pd.DataFrame:
        """Each parameter among the good trials (the best GOOD_SHARE, at least GOOD_AT_LEAST)."""
        table = self.table()
        good = table.head(max(GOOD_AT_LEAST, math.ceil(GOOD_SHARE * len(table))))
        rows = []
        for p in self.params:
            values = good[p.name].to_numpy(dtype=float)
            rows.append({"parameter": p.name, "best": self.best()[p.name], "trials": len(values),
                         "min": values.min(), "p25": np.quantile(values, 0.25), "median": np.median(values),
                         "p75": np.quantile(values, 0.75), "max": values.max(), "low": p.low, "high": p.high,
                         "loss_up_to": float(good["loss"].max())})
        return pd.DataFrame(rows)


def open_study(storage_file: Path) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=STUDY_NAME, storage=f"sqlite:///{storage_file.resolve()}",
                                direction="minimize", load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=SAMPLER_SEED))
    for trial in study.trials:  # cut short by an interruption: failed, so that its place is taken again
        if trial.state == optuna.trial.TrialState.RUNNING:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    return study


def run_calibration(scenario: str, fixed: dict[str, Any], params: Sequence[Param], targets: Sequence[Target],
                    trials: int, seeds: Sequence[int], study_file: Path, batch: int, client: Any = None,
                    on_done: Callable[[int, int], None] | None = None) -> Calibration:
    """Run trials until the study holds `trials` complete ones (those already there count)."""
    import optuna

    study = open_study(study_file)
    found = Calibration(study, list(params), list(targets), list(seeds))
    figures = [t.figure for t in targets]
    stored = {tuple(sorted((p.name, p.low, p.high) for p in params))}
    for trial in found.complete:
        ranges = {name: (d.low, d.high) for name, d in trial.distributions.items()}
        stored.add(tuple(sorted((name, low, high) for name, (low, high) in ranges.items())))
    if len(stored) > 1:
        raise ExploreError(f"--study {study_file}: it holds trials over other parameters or ranges; fix: use a new "
                           "--study file (or the same --param ranges as before)")
    check_same_setup(study, study_file, study_setup(scenario, fixed, targets, seeds))
    while len(found.complete) < trials:
        asked = [study.ask() for _ in range(min(batch, trials - len(found.complete)))]
        points = [{p.name: trial.suggest_int(p.name, int(p.low), int(p.high), log=log_scale(p)) if p.integer
                   else trial.suggest_float(p.name, p.low, p.high, log=log_scale(p)) for p in params}
                  for trial in asked]
        results = run_points(scenario, fixed, points, seeds, figures, client,
                             named_by={t.figure.key: f"{t.where}.figure: {t.figure.key}" for t in targets})
        for trial, by_seed in zip(asked, results, strict=True):
            simulated = {f.label: float(np.mean([r[f.label] for r in by_seed])) for f in figures}
            trial.set_user_attr("seeds", list(seeds))
            trial.set_user_attr("simulated", simulated)
            loss = loss_of(targets, simulated)
            if math.isfinite(loss):
                study.tell(trial, loss)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        if on_done:
            on_done(len(found.complete), trials)
    return found


def study_setup(scenario: str, fixed: dict[str, Any], targets: Sequence[Target],
                seeds: Sequence[int]) -> dict[str, Any]:
    """What a trial's loss depends on besides its parameters, as a study records it: the scenario
    and its schemes as loaded with the fixed settings (a digest, as a saved state has; and the
    settings as given, to name what changed), the targets and the seeds."""
    from ..scenario.load import load_scenario

    scenario_model, schemes = load_scenario(scenario, fixed)
    loaded = {"scenario": scenario_model.model_dump(mode="json"),
              "schemes": [scheme.scheme.model_dump(mode="json") for scheme in schemes]}
    return {"scenario": hashlib.sha256(json.dumps(loaded, sort_keys=True, default=str).encode()).hexdigest(),
            "settings": {name: str(value) for name, value in sorted(fixed.items())},
            "targets": [[t.figure.label, t.observed, t.uncertainty] for t in targets],
            "seeds": list(seeds)}


def check_same_setup(study: Any, study_file: Path, setup: dict[str, Any]) -> None:
    """A study resumes only with what its trials were run against (else their losses would be
    against other targets, or of another scenario): recorded with its first trial, compared after."""
    stored = study.user_attrs.get("setup")
    if stored is None:
        if study.trials:
            raise ExploreError(f"--study {study_file}: its trials do not record the scenario, settings and targets "
                               "they were run against, so they cannot be resumed; fix: give a new --study file "
                               f"(or delete {study_file}) to start afresh")
        study.set_user_attr("setup", setup)
        return
    changed = [what for key, what in (("targets", "targets (figures, observed values or uncertainties)"),
                                      ("seeds", "seeds (--seeds)"),
                                      ("settings", "fixed settings (--population, --days, --set)"))
               if stored.get(key) != setup[key]]
    was, now = stored.get("settings", {}), setup["settings"]
    moved = [f"{name}: {was.get(name, 'unset')} then, {now.get(name, 'unset')} now"
             for name in sorted(set(was) | set(now)) if was.get(name) != now.get(name)]
    if not moved and stored.get("scenario") != setup["scenario"]:  # the settings alone change the scenario too
        changed.append("scenario (its file or its scheme's has changed)")
    if changed:
        raise ExploreError(f"--study {study_file}: its trials were run against other {' and '.join(changed)}"
                           + (f" ({'; '.join(moved)})" if moved else "") + ", so their losses do not measure "
                           f"this fit; fix: give a new --study file (or delete {study_file}) to start afresh, or "
                           "run it with what it was made with")


def best_scenario(raw: dict[str, Any], fixed: dict[str, Any], best: dict[str, float]) -> dict[str, Any]:
    """The scenario as written, with the fixed settings and the best parameters set."""
    from ..scenario.load import apply_overrides

    data = apply_overrides(raw, {**fixed, **best})
    if data.get("id"):
        data["id"] = f"{data['id']}-calibrated"
    return data


def write_scenario(data: dict[str, Any], path: Path, header: str) -> None:
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    path.write_text(comment + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def plot_fit(calibration: Calibration, metrics: pd.DataFrame, path: Path) -> None:
    """Each target's figure over the reported days of the best trial's run (seed 1), by date, with the
    observed values and their uncertainty (2 standard deviations)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys(t.figure.key for t in calibration.targets))
    fig, axes = plt.subplots(len(keys), 1, figsize=(8, 2.6 * len(keys)), squeeze=False)
    best = calibration.study.best_trial.user_attrs.get("simulated", {})
    for ax, key in zip(axes[:, 0], keys, strict=True):
        chosen = [t for t in calibration.targets if t.figure.key == key]
        if key in metrics.columns:
            ax.plot(metrics["date"], metrics[key], color="tab:blue", label="best trial, seed 1")
        for t in chosen:
            day = metrics["date"].iloc[t.figure.day if t.figure.day is not None else -1]
            ax.errorbar([day], [t.observed], yerr=[2 * t.uncertainty], fmt="s", color="black", capsize=4,
                        label="observed (2 sd)" if t is chosen[0] else None)
            if t.figure.label in best:
                ax.plot([day], [best[t.figure.label]], "o", color="tab:orange",
                        label=f"best trial, mean of {len(calibration.seeds)} seeds" if t is chosen[0] else None)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("date")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def raw_scenario(ref: str) -> dict[str, Any]:
    """The scenario's data as written (a file, or a shipped preset), with a scheme file given by a
    relative path made absolute, so that the best scenario runs from wherever it is written."""
    from importlib import resources

    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        scheme = data.get("scheme")
        if isinstance(scheme, str) and (path.parent / scheme).exists():
            data["scheme"] = str((path.parent / scheme).resolve())
        return data
    preset = resources.files("socialcredit.presets") / f"{ref}.scenario.yaml"
    return yaml.safe_load(preset.read_text(encoding="utf-8"))
