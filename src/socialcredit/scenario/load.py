"""Loading a scenario: from a preset id, a YAML file or data, with overrides, checked against its
scheme, every problem located in the YAML (as schemes' are)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path as FilePath
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from ..scheme.errors import Path, Problem, SchemeError, suggest
from ..scheme.loader import PRESETS_PACKAGE, load_scheme, preset_names, pydantic_problem
from ..scheme.models import Scheme
from ..scheme.yamlsource import Positions, locate, parse_yaml, read_yaml_file
from .identification import profile_names
from .models import EffectSpec, Scenario


def check_against_scheme(scenario: Scenario, scheme: Scheme) -> list[Problem]:
    """References from the scenario into the scheme: event kinds, entitlements, lists, groups."""
    problems: list[Problem] = []
    kinds, entitlements, lists = set(scheme.events), set(scheme.entitlements), set(scheme.lists)
    groups = set(scenario.population.groups)
    merged = {f.event for f in scheme.features.values() if f.merge_within_days is not None}

    def need(name: str, known: set[str], path: Path, what: str) -> None:
        if name not in known:
            problems.append(Problem(path, f"unknown {what} '{name}' (scheme '{scheme.id}')", suggest(name, known)))

    for kind, behaviour in scenario.behaviours.items():
        need(kind, kinds, ("behaviours", kind, "<key>"), "event kind")
        for index, name in enumerate(behaviour.requires):
            need(name, entitlements, ("behaviours", kind, "requires", index), "entitlement")
        for group in behaviour.group_factor:
            need(group, groups, ("behaviours", kind, "group_factor", group), "group")
        event = scheme.events.get(kind)
        if event is not None and not event.accepts(np.array(behaviour.value)).all():
            problems.append(Problem(("behaviours", kind, "value"), f"[{behaviour.value[0]:g}, {behaviour.value[1]:g}]"
                                    f" reaches outside what the scheme lets a '{kind}' carry ({event.range_text()})",
                                    "draw values within the scheme's range"))
    for source, spec in scenario.surveillance.items():
        for index, kind in enumerate(spec.observes):
            need(kind, kinds, ("surveillance", source, "observes", index), "event kind")
    for name, consequence in scenario.consequences.items():
        path = ("consequences", name)
        if name in lists:
            if consequence.denied != EffectSpec() or consequence.granted != EffectSpec():
                problems.append(Problem(path, f"'{name}' is a list: it can only be disclosed",
                                        "give a list {disclose: share}; denied/granted effects belong to entitlements"))
            continue
        need(name, entitlements | lists, (*path, "<key>"), "entitlement or list")
        if consequence.disclose:
            problems.append(Problem((*path, "disclose"), f"'{name}' is an entitlement: only lists are disclosed",
                                    "disclose the list that denies it"))
        for side in ("denied", "granted"):
            for kind in getattr(consequence, side).behaviours:
                need(kind, kinds, (*path, side, "behaviours", kind), "event kind")
    for index, incident in enumerate(scenario.incidents):
        need(incident.source, set(scenario.surveillance), ("incidents", index, "source"), "source")
        for kind in incident.corrupt:
            need(kind, kinds, ("incidents", index, "corrupt", kind), "event kind")
    if scenario.appeals is not None:
        for index, kind in enumerate(scenario.appeals.kinds or []):
            need(kind, kinds, ("appeals", "kinds", index), "event kind")
        contested = set(scenario.appeals.kinds or scheme.events) & merged
        if contested:
            problems.append(Problem(("appeals", "kinds"), f"{', '.join(sorted(contested))} feed a merged count and "
                                    "cannot be voided yet", "list appeals.kinds without them"))
        for group in scenario.appeals.group_factor:
            need(group, groups, ("appeals", "group_factor", group), "group")
    for source, spec in scenario.surveillance.items():
        late = sorted(merged & set(spec.observes)) if spec.delay_days else []
        if late:
            problems.append(Problem(("surveillance", source, "delay_days"),
                                    f"{', '.join(late)} feed a merged count, whose runs are decided as events "
                                    "happen: their records cannot arrive late", "set delay_days: 0 for this source, "
                                    "or observe those kinds with another source"))
        for index, group in enumerate(spec.affected_groups):
            need(group, groups, ("surveillance", source, "affected_groups", index), "group")
        for district in spec.district_coverage:
            if not 0 <= district < scenario.population.districts:
                problems.append(Problem(("surveillance", source, "district_coverage"),
                                        f"district {district} does not exist (districts are 0.."
                                        f"{scenario.population.districts - 1})", "use a district index"))
        if spec.identification is not None and spec.identification not in profile_names():
            problems.append(Problem(("surveillance", source, "identification"),
                                    f"unknown identification profile '{spec.identification}'",
                                    suggest(spec.identification, profile_names())))
        if spec.watchlist is not None:
            if spec.identification is None:
                problems.append(Problem(("surveillance", source, "watchlist"), "a watchlist is searched by face "
                                        "identification, and this source has none", "give the source an "
                                        "identification profile (identification: met_2025, say)"))
            if spec.watchlist.members_from_list is not None:
                need(spec.watchlist.members_from_list, lists,
                     ("surveillance", source, "watchlist", "members_from_list"), "list")
    for group in scenario.population.income.group_factor:
        need(group, groups, ("population", "income", "group_factor", group), "group")
    for problem in problems:  # point at the key itself where the key is what is wrong
        if problem.path[-1] == "<key>":
            problem.path = problem.path[:-1]
            problem.key = True
    return problems


def scenario_from_data(data: Any, source: str | None = None, positions: Positions | None = None,
                       base_dir: FilePath | None = None) -> tuple[Scenario, Scheme]:
    """Validate scenario data, load its scheme, and check the references between the two."""
    positions = positions or {}
    if not isinstance(data, dict):
        raise SchemeError([Problem((), "a scenario file must be a YAML mapping (scheme:, population:, ...)")],
                          source, "scenario")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        problems = [locate(pydantic_problem(e, Scenario, "scenario"), positions) for e in error.errors()]
        raise SchemeError(problems, source, "scenario") from None
    reference = scenario.scheme
    if base_dir is not None and (base_dir / reference).exists():
        reference = str(base_dir / reference)  # a scheme file next to the scenario file
    try:
        scheme = load_scheme(reference, scenario.scheme_overrides)
    except SchemeError as error:
        if error.problems and error.problems[0].message.startswith("no scheme file or preset"):
            problem = locate(Problem(("scheme",), error.problems[0].message, error.problems[0].fix), positions)
            raise SchemeError([problem], source, "scenario") from None
        raise
    problems = [locate(p, positions) for p in check_against_scheme(scenario, scheme)]
    if problems:
        raise SchemeError(problems, source, "scenario")
    return scenario, scheme


def load_scenario(ref: str | FilePath | None = None, overrides: dict[str, Any] | None = None
                  ) -> tuple[Scenario, Scheme]:
    """Load a scenario from a YAML file or a shipped preset id (default: the built-in default),
    with `key.path` overrides applied before validation."""
    ref = "default" if ref is None else ref
    path = FilePath(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        data, positions, source = read_yaml_file(path, "scenario")
        base_dir: FilePath | None = path.parent
    else:
        name = str(ref)
        if name not in preset_names("scenario"):
            raise SchemeError([Problem((), f"no scenario file or preset named '{name}'",
                                       suggest(name, preset_names("scenario")) + " (or give a path to a .yaml file)")],
                              name, "scenario")
        entry = resources.files(PRESETS_PACKAGE) / f"{name}.scenario.yaml"
        source = f"preset:{name}"
        data, positions = parse_yaml(entry.read_text(encoding="utf-8"), source, "scenario")
        base_dir = None
    if overrides and isinstance(data, dict):
        data = apply_overrides(data, overrides)
    try:
        return scenario_from_data(data, source, positions, base_dir)
    except SchemeError as error:
        if overrides:
            _blame_overrides(error, overrides)
        raise


def _blame_overrides(error: SchemeError, overrides: dict[str, Any]) -> None:
    """A problem in a value given on the command line (--set key=value, or a keyword to simulate) is
    reported against what the user typed, not a line of a file they never wrote."""
    for problem in error.problems:
        for dotted, value in overrides.items():
            parts = tuple(dotted.split("."))
            path = tuple(str(p) for p in problem.path)
            # the problem is inside what was set, or it is an unknown key on the way to it
            if path[:len(parts)] == parts or (parts[:len(path)] == path and problem.key):
                shown = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
                shown = shown.removesuffix("\n...").strip()
                problem.origin = f"--set {dotted}={shown}"
                break


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set `key.path` entries (from --set or keyword overrides) in raw scenario data."""
    for dotted, value in overrides.items():
        node = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return data
