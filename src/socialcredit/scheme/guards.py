"""The real-person checks of docs/design.md, "Three jobs, one scoring core": what `score` and
`serve` refuse and `simulate` runs.

A scheme is refused for use on real people when
- a component, list or entitlement reads events of a special category (GDPR Art. 9, plus what
  people say: `expression`), or
- an entitlement's `allow` depends, through lists, tier, score, pre, components and features, on
  events of a category other than its `context` and the categories it names in `uses`: a
  consequence in an unrelated context, the social scoring the EU AI Act (Art. 5(1)(c)) bans.

An input list (another body's list the scheme reads) counts as data of its declared category.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import SPECIAL_CATEGORIES, Scheme

RELATIONS = "relations"  # pseudo event kind: the network term's reading of one's relations
INPUT = "input list "  # pseudo event kind of an input list: "input list court_blacklist"


def category_of(scheme: Scheme, kind: str) -> str:
    """The data category of an event kind, or of a pseudo kind: relations (social), an input list
    (its declared category: whatever put people on it is data of that category)."""
    if kind == RELATIONS:
        return "social"
    if kind.startswith(INPUT):
        return scheme.input_lists[kind.removeprefix(INPUT)].category
    return scheme.events[kind].category


@dataclass(frozen=True)
class Classification:
    scheme_id: str
    refusals: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.refusals

    def summary(self) -> str:
        if self.allowed:
            return "real-person use: allowed"
        return "real-person use: refused:\n" + "\n".join(f"  - {reason}" for reason in self.refusals)


def event_dependencies(scheme: Scheme) -> dict[str, set[str]]:
    """For every name an expression can read, the event kinds its value depends on."""
    # An input list is judged as data of its declared category: a court's list that blocks a hotel
    # deposit crosses contexts exactly as the court's judgments would, read in the scheme itself.
    deps: dict[str, set[str]] = {name: {INPUT + name} for name in scheme.input_lists}
    for name in scheme.rules.feature_order:
        feature = scheme.features[name]
        if feature.type == "ratio":
            deps[name] = set().union(*(deps[f] for f in feature.ratio or []))
        else:
            deps[name] = {feature.event or ""}
    for name, component in scheme.components.items():
        deps[name] = set(deps[component.feature])
    # Whether one is scored at all depends on what the unscored conditions read; so do pre, score
    # and tier, which an unscored subject does not have.
    deps["scored"] = set().union(*(deps_of(expression, deps) for expression in scheme.rules.unscored))
    deps["pre"] = set(deps["scored"]).union(*(deps[name] for name in scheme.components))
    # The network term makes a score depend on other people's records through one's relations:
    # data of the `social` category, which an entitlement must name in `uses` to read lawfully.
    deps["score"] = deps["pre"] | ({RELATIONS} if scheme.network is not None else set())
    deps["tier"] = set(deps["score"]).union(*(deps_of(expression, deps) for expression, _ in scheme.rules.tier_caps))
    for name in scheme.rules.list_order:
        deps[name] = deps_of(scheme.rules.lists[name], deps)
    for name, expression in scheme.rules.entitlements.items():
        deps[f"entitlement:{name}"] = deps_of(expression, deps)
    return deps


def deps_of(expression, deps: dict[str, set[str]]) -> set[str]:
    return set().union(*(deps[name] for name in expression.names)) if expression.names else set()


def _describe(scheme: Scheme, kinds: set[str]) -> str:
    return ", ".join(f"{kind} ({category_of(scheme, kind)})" for kind in sorted(kinds))


def classify(scheme: Scheme) -> Classification:
    deps = event_dependencies(scheme)
    refusals: list[str] = []
    special = {kind for kind, event in scheme.events.items() if event.category in SPECIAL_CATEGORIES}
    special |= {INPUT + name for name, spec in scheme.input_lists.items() if spec.category in SPECIAL_CATEGORIES}
    readers = [("component", name) for name in scheme.components] + [("list", name) for name in scheme.lists]
    for what, name in readers:
        read = deps[name] & special
        if read:
            refusals.append(f"{what} '{name}' reads special-category events: {_describe(scheme, read)}")
    for index, (expression, _) in enumerate(scheme.rules.tier_caps):
        read = deps_of(expression, deps) & special
        if read:
            refusals.append(f"tier cap '{scheme.tier_cap_names[index]}' ('{expression.source}') reads "
                            f"special-category events: {_describe(scheme, read)}")
    for expression, reason in zip(scheme.rules.unscored, scheme.unscored_names, strict=True):
        read = deps_of(expression, deps) & special
        if read:
            refusals.append(f"unscored condition '{reason}' ('{expression.source}') reads special-category events: "
                            f"{_describe(scheme, read)}")
    for name, entitlement in scheme.entitlements.items():
        read = deps[f"entitlement:{name}"]
        if read & special:
            refusals.append(f"entitlement '{name}' reads special-category events: {_describe(scheme, read & special)}")
        lawful = {entitlement.context, *entitlement.uses}
        crossing = {kind for kind in read if category_of(scheme, kind) not in lawful} - special
        if crossing:
            refusals.append(
                f"entitlement '{name}' (context {entitlement.context}"
                + (f", uses {', '.join(entitlement.uses)}" if entitlement.uses else "")
                + f") depends on events of another context: {_describe(scheme, crossing)}"
            )
    return Classification(scheme.id, refusals)
