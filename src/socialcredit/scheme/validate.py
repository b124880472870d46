"""Checks that need the whole scheme: references, cycles, orderings, expressions.

`check_scheme` either returns the compiled rules (expressions compiled once, lists in dependency
order) or raises SchemeError listing every problem with its YAML path and a fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from .errors import ExpressionError, Path, Problem, SchemeError, suggest
from .expressions import Expression, Kind, compile_expression, names_in, names_in_order

if TYPE_CHECKING:
    from .models import Scheme

RESERVED = {"score", "pre", "tier", "subject", "reasons", "capped_by", "scored", "unscored_by", "and", "or", "not",
            "True", "False", "None"}
UNSCORED_MOST = 16  # conditions a scheme may give: whether each holds is one bit of a uint16
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Rules:
    """What a valid scheme compiles to."""

    feature_order: tuple[str, ...]          # ratios after the features they divide
    list_order: tuple[str, ...]             # lists after the lists they read
    lists: Mapping[str, Expression]
    entitlements: Mapping[str, Expression]
    tier_caps: tuple[tuple[Expression, int], ...] = ()  # (condition, index of the highest tier allowed)
    tier_cap_names: tuple[str, ...] = ()    # each cap's reason code (its name, or the default), as tier_caps
    unscored: tuple[Expression, ...] = ()   # the conditions under which a subject is unscored, in order


def _check_name(name: str, path: Path, what: str, problems: list[Problem]) -> None:
    if not _NAME.match(name):
        problems.append(Problem(path, f"'{name}' is not a valid {what} name",
                                "use lower-case letters, digits and '_', starting with a letter"))
    elif name in RESERVED:
        problems.append(Problem(path, f"'{name}' is a reserved word", "choose another name"))


def _check_features(scheme: Scheme, problems: list[Problem]) -> tuple[str, ...]:
    ratio_inputs: dict[str, list[str]] = {}
    for name, feature in scheme.features.items():
        path: Path = ("features", name)
        _check_name(name, path, "feature", problems)
        kinds = [t for t in feature.TYPES if getattr(feature, t) is not None]
        if len(kinds) != 1:
            problems.append(Problem(path, f"a feature needs exactly one of {', '.join(feature.TYPES)}"
                                    + (f" (it has {', '.join(kinds)})" if kinds else ""),
                                    "e.g. {count: late_payment, window_days: 730}"))
            continue
        kind = kinds[0]
        if feature.window_days is not None and feature.half_life_days is not None:
            problems.append(Problem(path, "a feature takes window_days or half_life_days, not both",
                                    "remove one of them"))
        if kind in ("ratio", "days_since"):
            for option in ("window_days", "half_life_days"):
                if getattr(feature, option) is not None:
                    problems.append(Problem((*path, option), f"a {kind} feature takes no {option}",
                                            f"remove {option}" + (" (set it on the two features divided)"
                                                                  if kind == "ratio" else "")))
        if feature.merge_within_days is not None and kind != "count":
            problems.append(Problem((*path, "merge_within_days"), f"a {kind} feature takes no merge_within_days",
                                    "merging repeated events applies to count features only"))
        if feature.default is not None and kind not in ("mean", "days_since"):
            problems.append(Problem((*path, "default"), f"a {kind} feature takes no default",
                                    "default applies to mean and days_since only; remove it"))
        if kind == "days_since" and feature.default is None:
            problems.append(Problem(path, "a days_since feature needs a default: its value for subjects who "
                                    "never had such an event", "add e.g. default: 3650"))
        if kind == "ratio":
            pair = feature.ratio or []
            if len(pair) != 2:
                problems.append(Problem((*path, "ratio"), f"ratio needs exactly two features, got {len(pair)}",
                                        "write ratio: [numerator, denominator]"))
                continue
            for index, other in enumerate(pair):
                if other not in scheme.features:
                    problems.append(Problem((*path, "ratio", index), f"unknown feature '{other}'",
                                            suggest(other, scheme.features)))
            ratio_inputs[name] = [p for p in pair if p in scheme.features]
        else:
            event = getattr(feature, kind)
            if event not in scheme.events:
                problems.append(Problem((*path, kind), f"unknown event kind '{event}'",
                                        suggest(event, scheme.events) + " (event kinds are declared under events:)"))
    graph = {name: ratio_inputs.get(name, []) for name in scheme.features}
    try:
        return tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        cycle = error.args[1]
        problems.append(Problem(("features", cycle[0]), "ratio features divide each other in a cycle: "
                                + " -> ".join(cycle), "break the cycle"))
        return tuple(scheme.features)


def _check_components(scheme: Scheme, problems: list[Problem]) -> None:
    for name, component in scheme.components.items():
        path: Path = ("components", name)
        _check_name(name, path, "component", problems)
        if component.feature not in scheme.features:
            problems.append(Problem((*path, "feature"), f"unknown feature '{component.feature}'",
                                    suggest(component.feature, scheme.features)))
        if (component.bins is None) == (component.per_unit is None):
            problems.append(Problem(path, "a component needs exactly one of bins or per_unit",
                                    "e.g. {feature: late_ratio, bins: [{upto: 0, points: 0}, {points: -50}]}"
                                    " or {feature: violations, per_unit: -5}"))
        if component.min is not None and component.max is not None and component.min > component.max:
            problems.append(Problem((*path, "min"), f"min ({component.min:g}) is above max ({component.max:g})",
                                    "swap them"))
        if component.bins is not None:
            bins = component.bins
            if not bins:
                problems.append(Problem((*path, "bins"), "bins is empty", "give at least one bin: [{points: 0}]"))
                continue
            last = len(bins) - 1
            previous = None
            for index, item in enumerate(bins):
                if index == last:
                    if item.upto is not None:
                        problems.append(Problem((*path, "bins", index, "upto"),
                                                "the last bin is the catch-all and takes no upto",
                                                f"add a last bin without upto, e.g. {{points: {item.points:g}}}"))
                elif item.upto is None:
                    problems.append(Problem((*path, "bins", index), "only the last bin may omit upto",
                                            "give this bin an upto, or move it last"))
                elif previous is not None and item.upto <= previous:
                    problems.append(Problem((*path, "bins", index, "upto"),
                                            f"upto values must increase (got {item.upto:g} after {previous:g})",
                                            "order the bins from the lowest upto to the highest"))
                if item.upto is not None:
                    previous = item.upto


def _check_scale_and_tiers(scheme: Scheme, problems: list[Problem]) -> None:
    scale = scheme.scale
    if scale.min >= scale.max:
        problems.append(Problem(("scale",), f"min ({scale.min:g}) must be below max ({scale.max:g})", "swap them"))
    elif not scale.min <= scale.base <= scale.max:
        problems.append(Problem(("scale", "base"), f"base ({scale.base:g}) is outside [{scale.min:g}, {scale.max:g}]",
                                "set base between min and max"))
    seen: set[str] = set()
    for index, tier in enumerate(scheme.tiers):
        if tier.name in seen:
            problems.append(Problem(("tiers", index, "name"), f"tier '{tier.name}' is defined twice",
                                    "give each tier its own name"))
        seen.add(tier.name)
        if index and tier.min >= scheme.tiers[index - 1].min:
            problems.append(Problem(("tiers", index, "min"),
                                    f"tiers must run highest first: '{tier.name}' (min {tier.min:g}) comes after "
                                    f"'{scheme.tiers[index - 1].name}' (min {scheme.tiers[index - 1].min:g})",
                                    "order tiers by descending min, each min lower than the one before"))
    if scheme.tiers and scheme.tiers[-1].min > scale.min:
        problems.append(Problem(("tiers", len(scheme.tiers) - 1, "min"),
                                f"the lowest tier starts at {scheme.tiers[-1].min:g}, above the scale's min "
                                f"{scale.min:g}, so some scores would have no tier",
                                f"set the last tier's min to {scale.min:g}"))


def name_kinds(scheme: Scheme, problems: list[Problem] | None = None) -> dict[str, Kind]:
    """What each name an expression may read is (number, condition, tier); names used twice go to
    `problems`."""
    problems = [] if problems is None else problems
    kinds: dict[str, Kind] = {"score": Kind.NUMBER, "pre": Kind.NUMBER, "scored": Kind.BOOL}
    if scheme.tiers:
        kinds["tier"] = Kind.TIER
    owners: dict[str, str] = {}
    for section, kind in (("features", Kind.NUMBER), ("components", Kind.NUMBER), ("lists", Kind.BOOL),
                          ("entitlements", None), ("input_lists", Kind.BOOL)):
        for name in getattr(scheme, section):
            if name in owners:
                problems.append(Problem((section, name), f"the name '{name}' is already used in {owners[name]}",
                                        "features, components, lists, entitlements and input lists share one "
                                        "namespace; rename one"))
                continue
            owners[name] = section
            if kind is not None:
                kinds[name] = kind
    for index, cap in enumerate(scheme.tier_caps):
        if cap.name is None:
            continue
        if cap.name in owners:
            problems.append(Problem(("tier_caps", index, "name"), f"the name '{cap.name}' is already used in "
                                    f"{owners[cap.name]}", "features, components, lists, entitlements and tier "
                                    "caps share one namespace (a cap's name is a reason code, beside the "
                                    "components'); rename one"))
            continue
        owners[cap.name] = "tier_caps"
    for index, rule in enumerate(scheme.unscored_rules):
        path: Path = ("unscored", index, "reason") if isinstance(scheme.unscored, list) else ("unscored", "reason")
        if rule.reason in owners:
            problems.append(Problem(path, f"the name '{rule.reason}' is already used in {owners[rule.reason]}",
                                    "features, components, lists, entitlements, tier caps and unscored reasons "
                                    "share one namespace (a reason is a reason code, beside the components'); "
                                    "rename one"))
            continue
        owners[rule.reason] = "unscored"
    return kinds


def tier_cap_names(scheme: Scheme) -> tuple[str, ...]:
    """Each tier cap's reason code: its name, else 'cap_' and the names its condition reads in the
    order they first appear, joined by '_' ('cap' where it reads none), then '_2', '_3'... until
    the code is free (not a name of the scheme nor an earlier cap's code)."""
    taken = {*scheme.features, *scheme.components, *scheme.lists, *scheme.entitlements, *scheme.input_lists,
             *scheme.unscored_names,
             *(cap.name for cap in scheme.tier_caps if cap.name is not None)}
    codes: list[str] = []
    for cap in scheme.tier_caps:
        if cap.name is not None:
            codes.append(cap.name)
            continue
        stem = "_".join(["cap", *names_in_order(cap.when)])
        code, suffix = stem, 2
        while code in taken:
            code, suffix = f"{stem}_{suffix}", suffix + 1
        taken.add(code)
        codes.append(code)
    return tuple(codes)


def _compile(source: str, path: Path, kinds: Mapping[str, Kind], scheme: Scheme,
             problems: list[Problem]) -> Expression | None:
    try:
        return compile_expression(source, kinds, scheme.tier_names)
    except ExpressionError as error:
        pointer = f"\n      {source}\n      {' ' * error.column}^"
        problems.append(Problem(path, f"{error.message} at column {error.column + 1}:{pointer}", error.fix))
        return None


def check_scheme(scheme: Scheme) -> Rules:
    problems: list[Problem] = []
    for name in scheme.events:
        _check_name(name, ("events", name), "event kind", problems)
    _check_scale_and_tiers(scheme, problems)
    feature_order = _check_features(scheme, problems)
    _check_components(scheme, problems)
    kinds = name_kinds(scheme, problems)
    for index, name in enumerate(scheme.reason_also):
        if name not in scheme.components:
            problems.append(Problem(("reasons", "also", index), f"unknown component '{name}'",
                                    suggest(name, scheme.components)))
    if isinstance(scheme.reasons, int) and scheme.reasons < 0:
        problems.append(Problem(("reasons",), "reasons must be 0 or more", "write e.g. reasons: 4"))
    for name in scheme.lists:
        _check_name(name, ("lists", name), "list", problems)
    for name in scheme.entitlements:
        _check_name(name, ("entitlements", name), "entitlement", problems)
    for name in scheme.input_lists:
        _check_name(name, ("input_lists", name), "input list", problems)

    list_graph = {name: sorted(names_in(scheme.list_source(name)) & set(scheme.lists)) for name in scheme.lists}
    try:
        list_order = tuple(TopologicalSorter(list_graph).static_order())
    except CycleError as error:
        cycle = error.args[1]
        problems.append(Problem(("lists", cycle[0]), "lists depend on each other in a cycle: " + " -> ".join(cycle),
                                "a list may read other lists, but not itself through them; break the cycle"))
        list_order = tuple(scheme.lists)

    caps = []
    # A cap decides the tier, so it reads what comes before the tier: features, components, score, pre,
    # and input lists (given from outside: on a court's list, grade D at best).
    before_tier = {name: kind for name, kind in kinds.items()
                   if name != "tier" and (kind is not Kind.BOOL or name in scheme.input_lists)}
    for index, cap in enumerate(scheme.tier_caps):
        if cap.name is not None:
            _check_name(cap.name, ("tier_caps", index, "name"), "tier cap", problems)
        if not scheme.tiers:
            problems.append(Problem(("tier_caps",), "tier caps need tiers", "define tiers:, or remove tier_caps:"))
            break
        if cap.at_most not in scheme.tier_names:
            problems.append(Problem(("tier_caps", index, "at_most"), f"unknown tier '{cap.at_most}'",
                                    suggest(cap.at_most, scheme.tier_names)))
            continue
        path: Path = ("tier_caps", index, "when")
        if names_in(cap.when) & ({"tier"} | set(scheme.lists)):
            problems.append(Problem(path, "a tier cap cannot read tier or lists, which come after it",
                                    "use features, components, score, pre or input lists"))
            continue
        expression = _compile(cap.when, path, before_tier, scheme, problems)
        if expression is not None:
            caps.append((expression, scheme.tier_names.index(cap.at_most)))
    unscored = _check_unscored(scheme, kinds, problems)
    lists = {name: _compile(scheme.list_source(name), ("lists", name) if isinstance(scheme.lists[name], str)
                            else ("lists", name, "when"), kinds, scheme, problems) for name in scheme.lists}
    entitlements = {name: _compile(e.allow, ("entitlements", name, "allow"), kinds, scheme, problems)
                    for name, e in scheme.entitlements.items()}
    if problems:
        raise SchemeError(problems)
    return Rules(
        feature_order=feature_order,
        list_order=list_order,
        lists={name: expr for name, expr in lists.items() if expr is not None},
        entitlements={name: expr for name, expr in entitlements.items() if expr is not None},
        tier_caps=tuple(caps),
        tier_cap_names=tier_cap_names(scheme),
        unscored=unscored,
    )


def _check_unscored(scheme: Scheme, kinds: Mapping[str, Kind], problems: list[Problem]) -> tuple[Expression, ...]:
    """The unscored conditions compiled: each reads features only (whether there is a score at all
    is decided before any points), and its reason is a name."""
    rules = scheme.unscored_rules
    listed = isinstance(scheme.unscored, list)
    if listed and not rules:
        problems.append(Problem(("unscored",), "unscored is an empty list",
                                "give at least one {when: ..., reason: ...}, or remove unscored:"))
    if len(rules) > UNSCORED_MOST:
        problems.append(Problem(("unscored",), f"at most {UNSCORED_MOST} unscored conditions (got {len(rules)})",
                                "join conditions with 'or' under one reason"))
        return ()
    features = {name: kind for name, kind in kinds.items() if name in scheme.features}
    compiled = []
    for index, rule in enumerate(rules):
        path: Path = ("unscored", index) if listed else ("unscored",)
        _check_name(rule.reason, (*path, "reason"), "unscored reason", problems)
        others = sorted(names_in(rule.when) - set(scheme.features))
        known = [name for name in others if name in kinds or name in RESERVED]
        if known:
            problems.append(Problem((*path, "when"), f"an unscored condition reads features only, not "
                                    f"{', '.join(repr(name) for name in known)}: it decides whether there is a "
                                    "score at all, before any points", "write it over features, e.g. "
                                    "\"accounts_6m_old < 1\""))
            continue
        expression = _compile(rule.when, (*path, "when"), features, scheme, problems)
        if expression is not None:
            compiled.append(expression)
    return tuple(compiled)
