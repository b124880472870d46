"""Loading a scenario: from a preset id, a YAML file or data, with overrides, checked against its
scheme, every problem located in the YAML (as schemes' are)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from importlib import resources
from pathlib import Path as FilePath
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from ..scheme.errors import Path, Problem, SchemeError, suggest
from ..scheme.loader import PRESETS_PACKAGE, load_scheme, preset_names, pydantic_problems
from ..scheme.models import Scheme
from ..scheme.yamlsource import Positions, locate, parse_yaml, read_yaml_file
from .enrolment import enrolment_problems
from .gaming import gaming_problems
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
    # Sources received on terms of their own: (source, delay_days, coverage), where either differs
    # from a direct receipt (no delay, every record).
    terms: tuple[tuple[str, int, float], ...] = ()
    # Each input list wired to another scheme's list: (input list, source scheme's name, its list).
    lists_from: tuple[tuple[str, str, str], ...] = ()

    def share_of(self, source: str) -> float:
        """The share of a source's records that reach this scheme: its receipt's coverage, 1 where
        received directly, 0 where not received."""
        if self.receives is not None and source not in self.receives:
            return 0.0
        return next((coverage for name, _, coverage in self.terms if name == source), 1.0)

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

    @property
    def order(self) -> tuple[ScenarioScheme, ...]:
        """The order in which the schemes score on a day: every scheme after those whose lists it
        imports (`lists_from`), otherwise in the scenario's order (the first ready scheme each time).
        The load refused cycles, so there is one."""
        done: list[ScenarioScheme] = []
        while len(done) < len(self):
            ready = next(entry for entry in self if entry not in done and
                         all(any(d.name == source for d in done) for _, source, _ in entry.lists_from))
            done.append(ready)
        return tuple(done)

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
            path = ("schemes", entry.name, "receives", index)
            if any(name == source for name, _, _ in entry.terms):
                path = (*path, "source")
            need(source, sources, path, "source")
            if source in (entry.receives or ())[:index]:
                problems.append(Problem(path, f"source '{source}' is received twice", "name each source once"))
    problems += _check_input_lists(scenario, schemes, lists)
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
            if consequence.removal is not None and not consequence.disclose:
                problems.append(Problem((*path, "removal"), f"list '{name}' is not disclosed: there is no "
                                        "picture to remove", f"give '{name}' a share that sees it (disclose: 0.3), "
                                        "or drop `removal`"))
            continue
        need(name, entitlements | lists, (*path, "<key>"), "entitlement or list")
        if consequence.removal is not None and name in entitlements:
            problems.append(Problem((*path, "removal"), f"'{name}' is an entitlement: only a disclosed list's "
                                    "picture can be removed", "give `removal` to the disclosed list"))
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
    for entry in schemes:
        for source, delay, _ in entry.terms:
            spec = scenario.surveillance.get(source)
            late = sorted(merged[entry.name] & set(spec.observes)) if spec is not None and delay else []
            if late:
                place = list(entry.receives or ()).index(source)
                problems.append(Problem(("schemes", entry.name, "receives", place, "delay_days"),
                                        f"{', '.join(late)} feed a merged count of scheme '{entry.name}', whose runs "
                                        "are decided as events happen: their records cannot arrive late",
                                        "set delay_days: 0 for this receipt"))
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
    problems += gaming_problems(scenario, any(entry.scheme.network is not None for entry in schemes))
    problems += enrolment_problems(scenario, schemes)
    for problem in problems:  # point at the key itself where the key is what is wrong
        if problem.path[-1] == "<key>":
            problem.path = problem.path[:-1]
            problem.key = True
    return problems


def _check_input_lists(scenario: Scenario, schemes: Schemes, lists: set[str]) -> list[Problem]:
    """Every input list a scheme declares is wired (`lists_from`) to a list of another scheme, every
    wiring names a declared input list, and no scheme depends on its own lists through others."""
    problems: list[Problem] = []
    if not schemes.qualified:
        scheme = schemes[0].scheme
        if scheme.input_lists:
            names = ", ".join(repr(name) for name in scheme.input_lists)
            plural = "s" * (len(scheme.input_lists) > 1)
            problems.append(Problem(("scheme",), f"scheme '{scheme.id}' reads input list{plural} {names}, which "
                                    "only another scheme of the scenario can supply",
                                    "name several schemes (schemes: {...}) and wire each input list under the "
                                    "scheme's lists_from: {name: <scheme>.<list>}"))
        return problems
    imports: dict[str, set[str]] = {}
    for entry in schemes:
        wired = {name for name, _, _ in entry.lists_from}
        for name, spec in entry.scheme.input_lists.items():
            if name not in wired:
                problems.append(Problem(("schemes", entry.name), f"scheme '{entry.scheme.id}' reads input list "
                                        f"'{name}' ({spec.category}), which is not wired to any list",
                                        f"wire it to another scheme's list: lists_from: {{{name}: <scheme>.<list>}}"))
        imports[entry.name] = set()
        for name, source, own in entry.lists_from:
            path: Path = ("schemes", entry.name, "lists_from", name)
            if name not in entry.scheme.input_lists:
                declared = entry.scheme.input_lists
                problems.append(Problem(path, f"scheme '{entry.scheme.id}' declares no input list '{name}'",
                                        (suggest(name, declared) + "; or " if declared else "") +
                                        f"declare it with its data category in the scheme (overrides: {{input_lists: "
                                        f"{{{name}: {{category: judicial}}}}}}), or remove this wiring"))
            qualified = f"{source}.{own}"
            if qualified not in lists:
                problems.append(Problem(path, f"'{qualified.lstrip('.')}' is not a list of a scheme of this "
                                        "scenario", suggest(qualified, lists) + " (give <scheme>.<list>)"))
                continue
            imports[entry.name].add(source)
    try:
        tuple(TopologicalSorter(imports).static_order())
    except CycleError as error:
        cycle = error.args[1]
        problems.append(Problem(("schemes", cycle[0], "lists_from"), "schemes import each other's lists in a cycle: "
                                + " -> ".join(reversed(cycle)) + " (each reads the one after it)",
                                "a scheme cannot depend on its own lists through another's; remove one wiring "
                                "of the cycle"))
    return problems


def _entry(name: str, entry: Any, scheme: Scheme) -> ScenarioScheme:
    """A `schemes:` entry, loaded: its receipts split into the sources received and their terms,
    and its wirings into (input list, scheme, list)."""
    receives = None if entry.receives is None else tuple(
        item if isinstance(item, str) else item.source for item in entry.receives)
    terms = tuple((item.source, item.delay_days, item.coverage) for item in entry.receives or ()
                  if not isinstance(item, str) and (item.delay_days or item.coverage < 1))
    wired = tuple((own, *(target.split(".", 1) if "." in target else ("", target)))
                  for own, target in entry.lists_from.items())
    return ScenarioScheme(name, scheme, entry.operator, receives, f"{name}.", terms, wired)  # type: ignore[arg-type]


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
        problems = [locate(p, positions) for p in pydantic_problems(error.errors(), Scenario, "scenario")]
        raise SchemeError(problems, source, "scenario") from None
    if scenario.schemes is None:
        assert scenario.scheme is not None
        scheme = _load_one(scenario.scheme, scenario.scheme_overrides, ("scheme",), source, positions, base_dir)
        schemes = Schemes.one(scheme)
    else:
        schemes = Schemes(
            _entry(name, entry, _load_one(entry.scheme, entry.overrides, ("schemes", name, "scheme"), source,
                                          positions, base_dir))
            for name, entry in scenario.schemes.items())
    problems = [locate(p, positions) for p in check_against_scheme(scenario, schemes)]
    if problems:
        raise SchemeError(problems, source, "scenario")
    return scenario, schemes


def _load_one(reference: str, overrides: dict[str, Any], path: Path, source: str | None, positions: Positions,
              base_dir: FilePath | None) -> Scheme:
    """A scheme the scenario names at `path`, with the scenario's changes to it. A problem in what
    the changes wrote is reported where the scenario wrote it; one in the scheme they leave behind
    (a deleted event that a feature still counts) against the scheme, naming the changes."""
    if base_dir is not None and (base_dir / reference).exists():
        reference = str(base_dir / reference)  # a scheme file next to the scenario file
    changes: Path = ("scheme_overrides",) if path == ("scheme",) else (*path[:-1], "overrides")
    try:
        return load_scheme(reference, overrides, ".".join(str(part) for part in changes))
    except SchemeError as error:
        if error.problems and error.problems[0].message.startswith("no scheme file or preset"):
            problem = locate(Problem(path, error.problems[0].message, error.problems[0].fix), positions)
            raise SchemeError([problem], source, "scenario") from None
        if error.problems and all(_written_in(problem.path, overrides) for problem in error.problems):
            moved = [locate(Problem((*changes, *problem.path), problem.message, problem.fix, key=problem.key),
                            positions) for problem in error.problems]
            raise SchemeError(moved, source, "scenario") from None
        raise


def _written_in(path: Path, overrides: dict[str, Any]) -> bool:
    """Whether the changes to a scheme wrote the value at `path` (or a mapping around it)."""
    node: Any = overrides
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return bool(path)


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
    made = {dotted: _made_by(dotted, data) for dotted in overrides or {}}  # before they change the data
    if overrides and isinstance(data, dict):
        data = apply_overrides(data, overrides)
    try:
        return scenario_from_data(data, source, positions, base_dir)
    except SchemeError as error:
        if overrides:
            _blame_overrides(error, overrides, made)
        raise


def _made_by(dotted: str, given: Any) -> str:
    """The part of the data a --set made that the file did not have (`enrolment.nosuch` for
    `enrolment.nosuch.rule` where the file has no `nosuch`), as dotted; the key itself where the file
    has every part on the way to it."""
    parts, node = dotted.split("."), given
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            return ".".join(parts[:depth + 1])
        node = node[part]
    return dotted


def _blame_overrides(error: SchemeError, overrides: dict[str, Any], made_by: dict[str, str] | None = None) -> None:
    """A problem in a value given on the command line (--set key=value, or a keyword to simulate) is
    reported against what the user typed, not a line of a file they never wrote."""
    for problem in error.problems:
        for dotted, value in overrides.items():
            path = ".".join(str(p) for p in problem.path)  # as dotted (a qualified name holds dots itself)
            made = (made_by or {}).get(dotted, dotted)
            # the problem is inside what was set (or what setting it made: an entry the file lacks),
            # or it is an unknown key on the way to it
            inside = path == made or path.startswith(f"{made}.")  # (`made` is `dotted` or on the way to it)
            if inside or ((dotted.startswith(f"{path}.") or not path) and problem.key):
                shown = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
                shown = shown.removesuffix("\n...").strip()
                problem.origin = f"--set {dotted}={shown}"
                break


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set `key.path` entries (from --set or keyword overrides) in raw scenario data. A key that
    itself holds dots (a qualified name, `consequences.court.blacklist.disclose`) is matched where
    the data already has it, the longest such key first; under `consequences` of a scenario of several
    schemes, a key not there yet is `<scheme>.<name>` when its first part names one of the schemes."""
    schemes = data.get("schemes")
    scheme_names = set(schemes) if isinstance(schemes, dict) else set()
    for dotted, value in overrides.items():
        node = data
        parts = dotted.split(".")
        while True:
            taken = next((size for size in range(len(parts), 1, -1) if ".".join(parts[:size]) in node), 1)
            if taken == 1 and node is data.get("consequences") and parts[0] in scheme_names and len(parts) > 1:
                taken = 2  # a new qualified name: the scheme's, then its list's or entitlement's
            part, parts = ".".join(parts[:taken]), parts[taken:]
            if not parts:
                # A copy: a later override of a key inside it must not change the caller's value.
                node[part] = copy.deepcopy(value)
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
    return data
