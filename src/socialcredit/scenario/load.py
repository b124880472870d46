"""Loading a scenario: from a preset id, a YAML file or data, with overrides, checked against its
scheme, every problem located in the YAML (as schemes' are)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class ScenarioScheme:
    """One scheme of a scenario, loaded: its name in the scenario, the scheme (with the scenario's
    changes to it), who runs it, and the sources whose records reach it (None: every source).
    With several schemes (`schemes:`), its lists and entitlements are named `<name>.<list>` in the
    scenario and its outputs are prefixed `<name>.`; with one (`scheme:`), neither."""

    name: str
    scheme: Scheme
    operator: str | None = None
    receives: tuple[str, ...] | None = None
    prefix: str = ""

    def qualify(self, name: str) -> str:
        """A list's or entitlement's name as the scenario and the outputs give it."""
        return self.prefix + name


class Schemes(tuple[ScenarioScheme, ...]):
    """The schemes of a scenario, in the scenario's order: one (`scheme:`) or several (`schemes:`)."""

    @classmethod
    def one(cls, scheme: Scheme) -> Schemes:
        return cls((ScenarioScheme(scheme.id, scheme),))

    @property
    def qualified(self) -> bool:
        """Whether names are qualified by the scheme's name (the `schemes:` form)."""
        return bool(self) and bool(self[0].prefix)

    @property
    def kinds(self) -> list[str]:
        """The world's event kinds: every scheme's, in the schemes' order, each once (with one
        scheme, its own order)."""
        return list(dict.fromkeys(kind for entry in self for kind in entry.scheme.events))

    def qualified_names(self, of: str) -> dict[str, tuple[ScenarioScheme, str]]:
        """Every scheme's lists (`of="lists"`) or entitlements, by qualified name: (scheme, own name)."""
        return {entry.qualify(name): (entry, name) for entry in self for name in getattr(entry.scheme, of)}


def check_against_scheme(scenario: Scenario, schemes: Schemes | Scheme) -> list[Problem]:
    """References from the scenario into its schemes: event kinds, entitlements, lists, groups,
    sources. With several schemes, lists and entitlements are named with their scheme's name."""
    if isinstance(schemes, Scheme):
        schemes = Schemes.one(schemes)
    problems: list[Problem] = []
    kinds = set(schemes.kinds)
    entitlements, lists = set(schemes.qualified_names("entitlements")), set(schemes.qualified_names("lists"))
    groups = set(scenario.population.groups)
    sources = set(scenario.surveillance)
    merged: dict[str, set[str]] = {
        entry.name: {f.event for f in entry.scheme.features.values() if f.merge_within_days is not None}
        for entry in schemes}
    whose = f"scheme '{schemes[0].scheme.id}'" if not schemes.qualified else \
        f"schemes {', '.join(entry.name for entry in schemes)}"

    def need(name: str, known: set[str], path: Path, what: str) -> None:
        if name not in known:
            qualified = sorted(k for k in known if k.endswith(f".{name}"))
            fix = (f"with several schemes, name it with its scheme's name: {' or '.join(repr(q) for q in qualified)}"
                   if qualified else suggest(name, known))
            problems.append(Problem(path, f"unknown {what} '{name}' ({whose})", fix))

    for entry in schemes:
        for index, source in enumerate(entry.receives or ()):
            need(source, sources, ("schemes", entry.name, "receives", index), "source")
    for kind, behaviour in scenario.behaviours.items():
        need(kind, kinds, ("behaviours", kind, "<key>"), "event kind")
        for index, name in enumerate(behaviour.requires):
            need(name, entitlements, ("behaviours", kind, "requires", index), "entitlement")
        for group in behaviour.group_factor:
            need(group, groups, ("behaviours", kind, "group_factor", group), "group")
        for entry in schemes:
            event = entry.scheme.events.get(kind)
            if event is not None and not event.accepts(np.array(behaviour.value)).all():
                which = f"scheme '{entry.scheme.id}'" if schemes.qualified else "the scheme"
                problems.append(Problem(("behaviours", kind, "value"), f"[{behaviour.value[0]:g}, "
                                        f"{behaviour.value[1]:g}] reaches outside what {which} lets a '{kind}' "
                                        f"carry ({event.range_text()})", "draw values within the scheme's range"))
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
        if consequence.disclose and name in entitlements:
            problems.append(Problem((*path, "disclose"), f"'{name}' is an entitlement: only lists are disclosed",
                                    "disclose the list that denies it"))
        for side in ("denied", "granted"):
            for kind in getattr(consequence, side).behaviours:
                need(kind, kinds, (*path, side, "behaviours", kind), "event kind")
    for index, incident in enumerate(scenario.incidents):
        need(incident.source, sources, ("incidents", index, "source"), "source")
        for kind in incident.corrupt:
            need(kind, kinds, ("incidents", index, "corrupt", kind), "event kind")
    if scenario.appeals is not None:
        for index, kind in enumerate(scenario.appeals.kinds or []):
            need(kind, kinds, ("appeals", "kinds", index), "event kind")
        contested: set[str] = set().union(*(set(scenario.appeals.kinds or entry.scheme.events) & merged[entry.name]
                                  for entry in schemes))
        if contested:
            problems.append(Problem(("appeals", "kinds"), f"{', '.join(sorted(contested))} feed a merged count and "
                                    "cannot be voided yet", "list appeals.kinds without them"))
        for group in scenario.appeals.group_factor:
            need(group, groups, ("appeals", "group_factor", group), "group")
    for source, spec in scenario.surveillance.items():
        fed: set[str] = set().union(*(merged[entry.name] for entry in schemes
                            if entry.receives is None or source in entry.receives))
        late = sorted(fed & set(spec.observes)) if spec.delay_days else []
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
                       base_dir: FilePath | None = None) -> tuple[Scenario, Schemes]:
    """Validate scenario data, load its schemes, and check the references between them."""
    positions = positions or {}
    if not isinstance(data, dict):
        raise SchemeError([Problem((), "a scenario file must be a YAML mapping (scheme:, population:, ...)")],
                          source, "scenario")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        problems = [locate(pydantic_problem(e, Scenario, "scenario"), positions) for e in error.errors()]
        raise SchemeError(problems, source, "scenario") from None
    if scenario.schemes is None:
        assert scenario.scheme is not None
        scheme = _load_one(scenario.scheme, scenario.scheme_overrides, ("scheme",), source, positions, base_dir)
        schemes = Schemes.one(scheme)
    else:
        schemes = Schemes(
            ScenarioScheme(name, _load_one(entry.scheme, entry.overrides, ("schemes", name, "scheme"), source,
                                           positions, base_dir),
                           entry.operator, None if entry.receives is None else tuple(entry.receives), f"{name}.")
            for name, entry in scenario.schemes.items())
    problems = [locate(p, positions) for p in check_against_scheme(scenario, schemes)]
    if problems:
        raise SchemeError(problems, source, "scenario")
    return scenario, schemes


def _load_one(reference: str, overrides: dict[str, Any], path: Path, source: str | None, positions: Positions,
              base_dir: FilePath | None) -> Scheme:
    """A scheme the scenario names at `path`, with the scenario's changes to it."""
    if base_dir is not None and (base_dir / reference).exists():
        reference = str(base_dir / reference)  # a scheme file next to the scenario file
    try:
        return load_scheme(reference, overrides)
    except SchemeError as error:
        if error.problems and error.problems[0].message.startswith("no scheme file or preset"):
            problem = locate(Problem(path, error.problems[0].message, error.problems[0].fix), positions)
            raise SchemeError([problem], source, "scenario") from None
        raise


def load_scenario(ref: str | FilePath | None = None, overrides: dict[str, Any] | None = None
                  ) -> tuple[Scenario, Schemes]:
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
            path = ".".join(str(p) for p in problem.path)  # as dotted (a qualified name holds dots itself)
            # the problem is inside what was set, or it is an unknown key on the way to it
            inside = path == dotted or path.startswith(f"{dotted}.")
            if inside or ((dotted.startswith(f"{path}.") or not path) and problem.key):
                shown = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
                shown = shown.removesuffix("\n...").strip()
                problem.origin = f"--set {dotted}={shown}"
                break


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set `key.path` entries (from --set or keyword overrides) in raw scenario data. A key that
    itself holds dots (a qualified name, `consequences.court.blacklist.disclose`) is matched where
    the data already has it, the longest such key first."""
    for dotted, value in overrides.items():
        node = data
        parts = dotted.split(".")
        while True:
            taken = next((size for size in range(len(parts), 1, -1) if ".".join(parts[:size]) in node), 1)
            part, parts = ".".join(parts[:taken]), parts[taken:]
            if not parts:
                node[part] = value
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
    return data
