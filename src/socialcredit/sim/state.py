"""A run's whole state on a day, to one file, and a run continued from it (`simulate --save-state-at`,
`--from-state`).

What is saved is what each part declares: `Sim.state_fields`, `SchemeState.state_fields` and each
phase's `Module.state_fields` (the attributes that change as the run goes on). A continued run is
built afresh from its scenario (people, graph, schemes, phases: everything made from parameters) and
then takes the declared attributes back from the file; a phase that forgets one starts that part
afresh, and the test that a continued run equals the run that never stopped fails.

Random streams are keyed by (seed, stream, day, chunk), never by how far a generator has drawn
(scenario/streams.py): the day is their whole position.

The file is a NumPy .npz read with `allow_pickle=False`: arrays, and one JSON document describing
how they fit (lists, dicts, tuples, numbers, and objects of this package's own classes, made without
running their constructors). Loading one runs no code from it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from .model import Sim
from .module import Module

FORMAT = "socialcredit-state"
VERSION = 2  # 2: the truth's feature state sparse (scoring.sparse.SparseFeatures)
META = "__state__"
# Scenario keys a continued run cannot change: they made the people, their ties and the random streams
# the state already holds (a change to anything else applies from the day after the saved one).
FIXED_KEYS = ("population", "network", "run.seed", "run.chunk", "run.start", "run.burn_in_days", "scheme.events",
              "schemes", "scheme_overrides", "id")
# Sections whose entries (by name) cannot be added or removed mid-run, though their parameters can change:
# the people's acts, the sources that record them, the mechanisms of gaming.
NAMED_SECTIONS = ("behaviours", "surveillance", "gaming", "enrolment")


class StateError(ValueError):
    """A state file that cannot be read or cannot continue the scenario asked for (the message says why)."""


class _NotData(Exception):
    """A value built from the scenario (a parameter model, a function, a thread): not state, kept as built."""


def scenario_hash(scenario: BaseModel) -> str:
    return hashlib.sha256(json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


class _Writer:
    def __init__(self, sim: Sim):
        self.sim = sim
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, Any] = {}  # id -> skeleton reference: shared arrays and objects stay shared
        self.keep: list[Any] = []       # keeps each encoded object alive, so that ids are not reused
        self.refs = self._references(sim)

    @staticmethod
    def _references(sim: Sim) -> dict[int, Any]:
        """What a continued run builds for itself and the saved state only points at."""
        refs: dict[int, Any] = {id(sim): {"sim": True}}
        for state in sim.schemes:
            refs[id(state)] = {"scheme_state": state.index}
            refs[id(state.scheme)] = {"scheme": state.index}
        for module in sim.modules:
            refs[id(module)] = {"module": module.name}
        return refs

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        key = id(value)
        if key in self.refs:
            return self.refs[key]
        if key in self.seen:
            return self.seen[key]
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise _NotData
            name = f"a{len(self.arrays)}"
            self.arrays[name] = value
            self.seen[key] = {"ref": name}
            self.keep.append(value)
            return {"array": name}
        if isinstance(value, np.generic):
            name = f"a{len(self.arrays)}"
            self.arrays[name] = np.asarray(value)
            return {"scalar": name}
        if isinstance(value, list):
            return {"list": [self.encode(item) for item in value]}
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return {"tuple": [self.encode(item) for item in value]}
        if isinstance(value, (set, frozenset)):
            return {"set": [self.encode(item) for item in sorted(value, key=repr)],
                    "frozen": isinstance(value, frozenset)}
        if isinstance(value, dict):
            return {"dict": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        cls = type(value)
        if not cls.__module__.startswith("socialcredit.") or isinstance(value, BaseModel) or callable(value):
            raise _NotData
        name = f"{cls.__module__}:{cls.__qualname__}"
        if hasattr(value, "_fields"):  # a NamedTuple
            return {"namedtuple": name, "items": [self.encode(item) for item in value]}
        number = f"o{len(self.seen)}"
        self.seen[key] = {"ref": number}
        self.keep.append(value)
        fields = getattr(cls, "state_fields", None)
        names = fields if fields is not None else list(vars(value))
        return {"object": name, "id": number, "attrs": self.attributes(value, names)}

    def attributes(self, owner: Any, names: Any) -> dict[str, Any]:
        """Each named attribute's skeleton; one built from the scenario is marked to be kept as built."""
        encoded: dict[str, Any] = {}
        for name in names:
            if not hasattr(owner, name):
                continue  # a phase switched off by its scenario sets up none of its state
            try:
                encoded[name] = self.encode(getattr(owner, name))
            except _NotData:
                encoded[name] = {"built": True}
        return encoded


def save_state(sim: Sim, day: int, path: Path) -> Path:
    """Write the state of `sim` at the end of `day` (its phases' work for the day finished)."""
    for module in sim.modules:
        module.settle(sim)
    writer = _Writer(sim)
    skeleton = {
        "format": FORMAT, "version": VERSION, "day": day,
        "scenario": sim.scenario.model_dump(mode="json"), "scenario_hash": scenario_hash(sim.scenario),
        "sim": writer.attributes(sim, Sim.state_fields),
        "schemes": [writer.attributes(state, type(state).state_fields) for state in sim.schemes],
        "modules": {module.name: writer.attributes(module, type(module).state_fields) for module in sim.modules},
        "caches": {module.name: writer.attributes(module, type(module).cache_fields) for module in sim.modules},
    }
    meta = np.frombuffer(json.dumps(skeleton).encode(), dtype=np.uint8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:  # np.savez would add .npz to a name without it
        np.savez(handle, **{META: meta, **writer.arrays})  # type: ignore[arg-type]
    partial.replace(path)
    return path


def _open(path: Path) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise StateError(f"{path}: no such state file (write one with simulate --save-state-at DAY)") from None
    except (OSError, ValueError) as error:
        raise StateError(f"{path}: not a socialcredit state file ({error})") from None


def _skeleton(data: Any, path: Path) -> dict[str, Any]:
    try:
        skeleton = json.loads(data[META].tobytes())
    except (KeyError, ValueError):
        raise StateError(f"{path}: not a socialcredit state file (no {META} entry)") from None
    if not isinstance(skeleton, dict) or skeleton.get("format") != FORMAT:
        raise StateError(f"{path}: not a socialcredit state file")
    if skeleton.get("version") != VERSION:
        raise StateError(f"{path}: state format version {skeleton.get('version')}, this socialcredit reads "
                         f"version {VERSION}: save it again with this version")
    return skeleton


def read_state(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The file's skeleton and arrays; a clear error for a file that is not a state file."""
    with _open(path) as data:
        skeleton = _skeleton(data, path)
        arrays = {name: data[name] for name in data.files if name != META}
    return skeleton, arrays


def saved_scenario(path: Path) -> tuple[dict[str, Any], int]:
    """The scenario a state file was saved from (as data: overrides apply to it) and its day, without
    reading its arrays."""
    with _open(path) as data:
        skeleton = _skeleton(data, path)
    return skeleton["scenario"], int(skeleton["day"])


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flat(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: value}


def changed_keys(saved: dict[str, Any], scenario: BaseModel) -> list[str]:
    """The scenario keys (dotted) whose values differ from the saved run's."""
    old, new = _flat(saved), _flat(scenario.model_dump(mode="json"))
    return sorted(key for key in old.keys() | new.keys() if old.get(key, None) != new.get(key, None))


def check_continuation(skeleton: dict[str, Any], scenario: BaseModel, path: Path) -> int:
    """The saved day, once the scenario is known to be one the state can continue: an error naming the
    first parameter changed that cannot change mid-run."""
    day = int(skeleton["day"])
    old, new = skeleton["scenario"], scenario.model_dump(mode="json")
    for section in NAMED_SECTIONS:
        before, after = old.get(section), new.get(section)
        if isinstance(before, dict) and isinstance(after, dict) and set(before) != set(after):
            names = sorted(set(before) ^ set(after))
            raise StateError(f"--from-state {path}: {section}.{names[0]} cannot be added or removed mid-run (the "
                             f"state holds what each of {section} has done); change its parameters instead, or "
                             f"add it in a run from the start")
    for key in changed_keys(old, scenario):
        fixed = next((f for f in FIXED_KEYS if key == f or key.startswith(f + ".")), None)
        if fixed is not None:
            raise StateError(f"--from-state {path}: {key} cannot change mid-run ({fixed} made the people, ties, "
                             f"schemes' records or random streams the state holds); change it in a run from the "
                             f"start instead")
    days = scenario.run.days  # type: ignore[attr-defined]
    if day >= days - 1:
        raise StateError(f"--from-state {path}: the state is of day {day} and run.days is {days}: nothing is left "
                         f"to simulate (set run.days above {day + 1})")
    return day


class _Reader:
    def __init__(self, sim: Sim, arrays: dict[str, np.ndarray], path: Path):
        self.sim, self.arrays, self.path = sim, arrays, path
        self.made: dict[str, Any] = {}

    def decode(self, skeleton: Any, built: Any, where: str) -> Any:
        if not isinstance(skeleton, dict):
            return skeleton
        if "array" in skeleton:
            saved = self.arrays[skeleton["array"]]
            value = saved
            if isinstance(built, np.ndarray) and built.shape == saved.shape and built.dtype == saved.dtype \
                    and built.flags.writeable and not any(built is made for made in self.made.values()):
                built[...] = saved  # in place: whatever else holds the array built for it sees the state too
                value = built
            self.made[skeleton["array"]] = value
            return value
        if "ref" in skeleton:
            return self.made[skeleton["ref"]]
        if "scalar" in skeleton:
            return self.arrays[skeleton["scalar"]][()]
        if "list" in skeleton:
            items = skeleton["list"]
            return [self.decode(item, built[i] if isinstance(built, list) and i < len(built) else None, where)
                    for i, item in enumerate(items)]
        if "tuple" in skeleton:
            items = skeleton["tuple"]
            return tuple(self.decode(item, built[i] if isinstance(built, tuple) and i < len(built) else None,
                                     where) for i, item in enumerate(items))
        if "set" in skeleton:
            items = {self.decode(item, None, where) for item in skeleton["set"]}
            return frozenset(items) if skeleton["frozen"] else items
        if "dict" in skeleton:
            out = {}
            for key_skeleton, item in skeleton["dict"]:
                key = self.decode(key_skeleton, None, where)
                out[key] = self.decode(item, built.get(key) if isinstance(built, dict) else None, where)
            return out
        if "sim" in skeleton:
            return self.sim
        if "scheme_state" in skeleton:
            return self.sim.schemes[skeleton["scheme_state"]]
        if "scheme" in skeleton:
            return self.sim.schemes[skeleton["scheme"]].scheme
        if "module" in skeleton:
            return next(module for module in self.sim.modules if module.name == skeleton["module"])
        if "namedtuple" in skeleton:
            cls = self.cls(skeleton["namedtuple"], where)
            return cls(*(self.decode(item, None, where) for item in skeleton["items"]))
        if "object" in skeleton:
            cls = self.cls(skeleton["object"], where)
            target = built if type(built) is cls else object.__new__(cls)  # no constructor runs
            self.made[skeleton["id"]] = target
            self.restore(target, skeleton["attrs"], f"{where}.{cls.__name__}")
            return target
        raise StateError(f"{self.path}: unreadable entry at {where}")

    def cls(self, name: str, where: str) -> type:
        """One of this package's classes, already imported (a file cannot name anything else)."""
        module_name, _, qualname = name.partition(":")
        module = sys.modules.get(module_name) if module_name.startswith("socialcredit.") else None
        found: Any = module
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if not isinstance(found, type):
            raise StateError(f"{self.path}: {where} names {name!r}, not a class of this socialcredit")
        return found

    def restore(self, owner: Any, attrs: dict[str, Any], where: str) -> None:
        for name, skeleton in attrs.items():
            if isinstance(skeleton, dict) and skeleton.get("built"):
                continue  # made from the scenario: as the continued run built it
            value = self.decode(skeleton, getattr(owner, name, None), f"{where}.{name}")
            if dataclasses.is_dataclass(owner) or hasattr(type(owner), "__slots__"):
                object.__setattr__(owner, name, value)
            else:
                owner.__dict__[name] = value


def restore_state(sim: Sim, path: Path) -> int:
    """Give `sim` (built afresh from its scenario, its loop's phases registered) the state saved in
    `path`; the day to continue after."""
    skeleton, arrays = read_state(path)
    day = check_continuation(skeleton, sim.scenario, path)
    saved_modules = skeleton["modules"]
    names = [module.name for module in sim.modules]
    if sorted(saved_modules) != sorted(names):
        raise StateError(f"{path}: saved with phases {sorted(saved_modules)}, this socialcredit has {sorted(names)}: "
                         f"save it again with this version")
    reader = _Reader(sim, arrays, path)
    reader.restore(sim, skeleton["sim"], "sim")
    for state, attrs in zip(sim.schemes, skeleton["schemes"], strict=True):
        reader.restore(state, attrs, f"scheme {state.name}")
    for module in sim.modules:
        reader.restore(module, saved_modules[module.name], f"phase {module.name}")
    if not changed_keys(skeleton["scenario"], sim.scenario):  # else made afresh: they do not track parameters
        for module in sim.modules:
            reader.restore(module, skeleton["caches"][module.name], f"phase {module.name}")
    _renumber_graphs(reader.made.values())
    return day


def _renumber_graphs(made: Any) -> None:
    """Graphs restored keep their serials (sums cached on them say which graph they were made on):
    graphs made from now on are numbered after them."""
    from ..scoring import graph

    serials = [value.serial for value in made if isinstance(value, graph.Relations)]
    if serials:
        graph.restart_serials(max(serials) + 1)


__all__ = ["Module", "StateError", "check_continuation", "read_state", "restore_state", "save_state"]
