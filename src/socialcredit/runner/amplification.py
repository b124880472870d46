"""Amplification: the sanctions across every scheme that follow from one false record, or from one
incident, measured by paired counterfactuals.

A false record reaches the schemes that receive its source; a list built on it reaches the schemes
that import that list, and their denials follow. What one false record costs is the difference
between a run and its twin, the same scenario and seed with false records taken out:

- *false records*: a sample of people, half of everyone (drawn from its own stream, so the same
  seed spares the same people), is spared every false record about them (misidentified, mixed up,
  corrupted or duplicated), taken out of each scheme's file as it arrives, after every draw of what
  is recorded and what reaches whom, so that until the worlds part (a spared person acts otherwise)
  every other draw is the run's. The amplification of a false record is the entitlement-days denied
  to the people it was about (spared, with a false record in the run or taken out of the twin) in
  the run and not in the twin, per false record taken out; per scheme it shows where the sanctions
  fell (a court's records, a city's denials through the court's list). Compared person by person,
  the rest of the spared half adds nothing but chance. The same difference among everyone else
  measures what spills over to them (and chance, once the worlds part);
- *incidents*: each incident in turn touches nobody in its twin (its draws still made), and its
  amplification is the entitlement-days denied to everyone in the run and not in the twin.

Entitlement-days: each day a person is denied an entitlement (a sanction or a perk) counts one, per
entitlement and scheme, from day 0. Over several seeds each figure has a paired t interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from ..scenario import load_scenario
from ..scenario.streams import generator
from ..sim.model import Sim
from ..world.incidents import Incidents

if TYPE_CHECKING:
    from .run import Run

SPARED_SHARE = 0.5  # half the people: as many spared as not, so both differences are measured alike


def spared_people(seed: int, n: int) -> np.ndarray:
    """Who the twin spares their false records, the same for a seed whatever the scenario."""
    return generator(seed, "amplification", -1).random(n) < SPARED_SHARE


def entitlement_days(sim: Sim) -> dict[str, np.ndarray]:
    """Per scheme (by name), per person: the days denied each of its entitlements, summed."""
    days: dict[str, np.ndarray] = {}
    for state in sim.schemes:
        total = np.zeros(sim.n, dtype=np.int64)
        for denied in state.denied_days.values():
            total += denied
        days[state.name] = total
    return days


def spare(spared: np.ndarray) -> Callable[[Sim], None]:
    def prepare(sim: Sim) -> None:
        sim.spared = spared
        sim.spared_touched = np.zeros(sim.n, dtype=bool)
    return prepare


def _without_incident(index: int) -> Callable[[Sim], None]:
    def prepare(sim: Sim) -> None:
        incidents = sim.module(Incidents)
        assert incidents is not None
        incidents.switch_off(index)
    return prepare


def _differences(factual: dict[str, np.ndarray], twin: dict[str, np.ndarray], who: np.ndarray | None,
                 per: float) -> dict[str, float]:
    """Per scheme and in all, the entitlement-days of `who` (everyone: None) in the run and not in
    the twin, divided by `per` (nan when per is 0: nothing was taken out)."""
    out: dict[str, float] = {}
    for name, days in factual.items():
        chosen = slice(None) if who is None else who
        out[name] = float(days[chosen].sum() - twin[name][chosen].sum()) / per if per else math.nan
    out["all_schemes"] = float(sum(out.values())) if per else math.nan
    return out


def _interval(values: list[float], confidence: float = 0.95) -> dict[str, Any]:
    """The mean over seeds, and its t interval (none with one seed)."""
    array = np.array(values, dtype=float)
    if not np.isfinite(array).all():
        return {"value": None, "low": None, "high": None,
                "why_null": {key: "nothing to take out in some seed (no false record, or the incident touched "
                             "no record)" for key in ("value", "low", "high")}}
    mean = float(array.mean())
    row: dict[str, Any] = {"value": mean, "low": None, "high": None}
    if len(array) < 2:
        row["why_null"] = {key: "one pair of runs: no spread to measure" for key in ("low", "high")}
        return row
    spread = float(array.std(ddof=1)) / math.sqrt(len(array))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(array) - 1)) * spread if spread else 0.0
    row["low"], row["high"] = mean - half, mean + half
    return row


def _gather(per_seed: list[dict[str, float]]) -> dict[str, Any]:
    return {name: _interval([seed[name] for seed in per_seed]) for name in per_seed[0]}


def amplification(scenario_ref: Any, overrides: dict[str, Any], seeds: list[int],
                  first: Run | None = None) -> dict[str, Any]:
    """The amplification figures (summary.json's `combined.amplification`) over `seeds`; `first` is
    the factual run at seeds[0] when it has already been run."""
    from .run import run_scenario  # (run.py's report reads these figures: imported here, not above)

    spared_rows: list[dict[str, float]] = []
    others_rows: list[dict[str, float]] = []
    removed: list[int] = []
    incident_rows: dict[int, list[dict[str, float]]] = {}
    incident_made: dict[int, list[int]] = {}
    for index, seed in enumerate(seeds):
        seeded = {**overrides, "run.seed": seed}
        factual = first if index == 0 and first is not None else run_scenario(*load_scenario(scenario_ref, seeded))
        scenario = factual.scenario
        spared = spared_people(seed, factual.sim.n)
        twin = run_scenario(*load_scenario(scenario_ref, seeded), prepare=spare(spared))
        with_days, without_days = entitlement_days(factual.sim), entitlement_days(twin.sim)
        taken_out = twin.sim.spared_records
        removed.append(taken_out)
        # those the false records were about: spared, with one in the run or taken out of the twin
        touched = spared & ((factual.sim.false_record_counts > 0) | twin.sim.spared_touched)
        spared_rows.append(_differences(with_days, without_days, touched, taken_out))
        others_rows.append(_differences(with_days, without_days, ~touched, taken_out))
        incidents = factual.sim.module(Incidents)
        for number in range(len(scenario.incidents)):
            assert incidents is not None
            made = int(incidents.false_made[number])
            quiet = run_scenario(*load_scenario(scenario_ref, seeded), prepare=_without_incident(number))
            per_incident = _differences(with_days, entitlement_days(quiet.sim), None, 1.0)
            per_record = _differences(with_days, entitlement_days(quiet.sim), None, made)
            incident_rows.setdefault(number, []).append(
                {**{f"per_incident.{k}": v for k, v in per_incident.items()},
                 **{f"per_false_record.{k}": v for k, v in per_record.items()}})
            incident_made.setdefault(number, []).append(made)
    figures: dict[str, Any] = {
        "method": "paired counterfactual: the run against its twin (same scenario and seed) with the false records "
                  "about a sample of people taken out as they reach each scheme; entitlement-days denied from day 0, "
                  "in the run and not in the twin" + (", paired t interval over seeds" if len(seeds) > 1 else ""),
        "seeds": list(seeds),
        "spared_share": SPARED_SHARE,
        "false_records_taken_out": removed,
        "entitlement_days_per_false_record": _gather(spared_rows),
        "spillover_per_false_record": _gather(others_rows),
    }
    if incident_rows:
        figures["incidents"] = {}
        first_scenario = load_scenario(scenario_ref, overrides)[0]
        for number, rows in incident_rows.items():
            spec = first_scenario.incidents[number]
            gathered = _gather(rows)
            figures["incidents"][str(number)] = {
                "source": spec.source, "day": spec.day, "days": spec.days, "false_records": incident_made[number],
                "entitlement_days_per_incident": {k.split(".", 1)[1]: v for k, v in gathered.items()
                                                  if k.startswith("per_incident.")},
                "entitlement_days_per_false_record": {k.split(".", 1)[1]: v for k, v in gathered.items()
                                                      if k.startswith("per_false_record.")}}
    return figures


def place(summary: dict[str, Any], figures: dict[str, Any]) -> None:
    """Put the figures in the summary: `combined.amplification` with several schemes, `amplification`
    with one (whose summary has no `combined`)."""
    if "combined" in summary:
        summary["combined"]["amplification"] = figures
    else:
        summary["amplification"] = figures


def found(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The amplification figures of a summary, if it has them."""
    return summary.get("combined", {}).get("amplification") or summary.get("amplification")
