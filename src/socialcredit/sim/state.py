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
import functools
import hashlib
import inspect
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from .model import Sim
from .module import Module

FORMAT = "socialcredit-state"
VERSION = 3  # 2: the truth's feature state sparse (scoring.sparse.SparseFeatures); 3: content_hash
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
    return _hash_of(scenario.model_dump(mode="json"))


def _hash_of(dumped: Any) -> str:
    return hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()


def content_hash(skeleton: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """The digest of everything a state file holds (its skeleton, but for this digest, and each array's
    name, type, shape and bytes): a value edited after saving, a count or a code, is refused rather than
    continued as if the run had made it. Not a signature: whoever edits a file can digest it again, so
    the values that index tables are range-checked too (`_consistent`)."""
    digest = hashlib.sha256(json.dumps({k: v for k, v in skeleton.items() if k != "content_hash"},
                                       sort_keys=True).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.data)
    return digest.hexdigest()


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
    skeleton["content_hash"] = content_hash(skeleton, writer.arrays)
    meta = np.frombuffer(json.dumps(skeleton).encode(), dtype=np.uint8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:  # np.savez would add .npz to a name without it
        np.savez(handle, **{META: meta, **writer.arrays})  # type: ignore[arg-type]
    partial.replace(path)
    return path


# What a damaged file (cut short, emptied, edited) raises from NumPy's and zipfile's readers.
_DAMAGED = (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError)
_SAVE_AGAIN = "save the state again (simulate --save-state-at DAY)"


def _open(path: Path) -> Any:
    try:
        if Path(path).is_dir():
            raise StateError(f"{path}: a folder, not a state file (give the .npz file simulate --save-state-at wrote)")
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise StateError(f"{path}: no such state file (write one with simulate --save-state-at DAY)") from None
    except _DAMAGED as error:
        raise StateError(f"{path}: not a socialcredit state file, or one cut short or damaged "
                         f"({type(error).__name__}: {error or 'empty'}); {_SAVE_AGAIN}") from None


def _skeleton(data: Any, path: Path) -> dict[str, Any]:
    try:
        skeleton = json.loads(data[META].tobytes())
    except (*_DAMAGED, UnicodeDecodeError):
        raise StateError(f"{path}: not a socialcredit state file (no readable {META} entry)") from None
    if not isinstance(skeleton, dict) or skeleton.get("format") != FORMAT:
        raise StateError(f"{path}: not a socialcredit state file")
    if skeleton.get("version") != VERSION:
        raise StateError(f"{path}: state format version {skeleton.get('version')}, this socialcredit reads "
                         f"version {VERSION}: save it again with this version")
    day = skeleton.get("day")
    if not isinstance(day, int) or isinstance(day, bool):
        raise StateError(f"{path}: the entry 'day' is {'missing' if day is None else repr(day)}, not a day "
                         f"number: the file was edited or damaged; {_SAVE_AGAIN}")
    for entry, kind in (("scenario", dict), ("sim", dict), ("schemes", list), ("modules", dict),
                        ("caches", dict)):
        if not isinstance(skeleton.get(entry), kind):
            raise StateError(f"{path}: the entry {entry!r} is missing or not a {kind.__name__}: the file was edited "
                             f"or damaged; {_SAVE_AGAIN}")
    # The arrays were made by the scenario saved beside them: an edited scenario would continue them as
    # another run's (a population of another size than its arrays, say).
    if _hash_of(skeleton["scenario"]) != skeleton.get("scenario_hash"):
        raise StateError(f"{path}: the saved scenario does not match its scenario_hash: the scenario in the file "
                         f"was edited after saving (change parameters with --set instead); {_SAVE_AGAIN}")
    return skeleton


def read_state(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The file's skeleton and arrays; a clear error for a file that is not a state file."""
    with _open(path) as data:
        skeleton = _skeleton(data, path)
        try:
            arrays = {name: data[name] for name in data.files if name != META}
        except _DAMAGED as error:
            raise StateError(f"{path}: an array cannot be read ({type(error).__name__}: {error}): the file is "
                             f"damaged; {_SAVE_AGAIN}") from None
    if content_hash(skeleton, arrays) != skeleton.get("content_hash"):
        raise StateError(f"{path}: its content does not match its content_hash: a value in the file was edited "
                         f"after saving (change parameters with --set instead); {_SAVE_AGAIN}")
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
    """Each saved value given back, checked against the one the continued run built: the compiled kernels
    trust an array's length and type, so a file whose arrays differ from what the scenario makes (edited,
    or of another run) is refused here rather than read past an array's end."""

    def __init__(self, sim: Sim, arrays: dict[str, np.ndarray], path: Path):
        self.sim, self.arrays, self.path = sim, arrays, path
        self.made: dict[str, Any] = {}

    def damaged(self, where: str, what: str) -> StateError:
        return StateError(f"{self.path}: {where}: {what}: the file was edited or damaged, or saved by another "
                          f"version; {_SAVE_AGAIN}")

    def array(self, name: Any, where: str) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise self.damaged(where, f"its array {name!r} is missing from the file")
        return self.arrays[name]

    def checked(self, saved: np.ndarray, built: Any, where: str) -> None:
        """The type and shape of what was built: only arrays that grow as the run goes on (built empty:
        the day's records, buffers made when first needed) or a graph's ties (checked whole, `_consistent`)
        may differ in length."""
        if not isinstance(built, np.ndarray):
            return  # made as the run goes on (a metrics column, a queue): nothing built to hold it to
        if saved.dtype != built.dtype or saved.ndim != built.ndim:
            raise self.damaged(where, f"an array of {saved.dtype} {saved.shape} where this scenario makes "
                                      f"{built.dtype} {built.shape}")
        grows = built.size == 0 or where.endswith(".Relations.indices")
        if saved.shape != built.shape and not (grows and saved.shape[1:] == built.shape[1:]):
            raise self.damaged(where, f"an array of shape {saved.shape} where this scenario makes {built.shape}")

    def decode(self, skeleton: Any, built: Any, where: str) -> Any:
        if not isinstance(skeleton, dict):
            if isinstance(built, np.ndarray):
                raise self.damaged(where, f"{skeleton!r} where this scenario makes an array")
            return skeleton
        if "array" in skeleton:
            saved = self.array(skeleton["array"], where)
            self.checked(saved, built, where)
            value = saved
            if isinstance(built, np.ndarray) and built.shape == saved.shape and built.dtype == saved.dtype \
                    and built.flags.writeable and not any(built is made for made in self.made.values()):
                built[...] = saved  # in place: whatever else holds the array built for it sees the state too
                value = built
            self.made[skeleton["array"]] = value
            return value
        if "ref" in skeleton:
            if skeleton["ref"] not in self.made:
                raise self.damaged(where, f"it refers to {skeleton['ref']!r}, which no entry before it makes")
            return self.made[skeleton["ref"]]
        if "scalar" in skeleton:
            return self.array(skeleton["scalar"], where)[()]
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
        if "scheme_state" in skeleton or "scheme" in skeleton:
            index = skeleton.get("scheme_state", skeleton.get("scheme"))
            if not isinstance(index, int) or not 0 <= index < len(self.sim.schemes):
                raise self.damaged(where, f"it names scheme {index!r}, of {len(self.sim.schemes)}")
            state = self.sim.schemes[index]
            return state if "scheme_state" in skeleton else state.scheme
        if "module" in skeleton:
            found = next((module for module in self.sim.modules if module.name == skeleton["module"]), None)
            if found is None:
                raise self.damaged(where, f"it names phase {skeleton['module']!r}, which this run does not have")
            return found
        if "namedtuple" in skeleton:
            cls = self.cls(skeleton["namedtuple"], where)
            return cls(*(self.decode(item, None, where) for item in skeleton["items"]))
        if "object" in skeleton:
            cls = self.cls(skeleton["object"], where)
            target = built if type(built) is cls else object.__new__(cls)  # no constructor runs
            self.made[skeleton["id"]] = target
            self.restore(target, skeleton["attrs"], f"{where}.{cls.__name__}")
            _consistent(target, self.sim, lambda what: self.damaged(f"{where}.{cls.__name__}", what))
            return target
        raise self.damaged(where, "an entry of no kind this version writes")

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

    def restore(self, owner: Any, attrs: dict[str, Any], where: str, fields: tuple[str, ...] | None = None) -> None:
        """Set the saved attributes of `owner`: only those its class declares as state (`fields`, or its
        class's `state_fields`), or, for a helper object that declares none, the attributes its instances hold
        (never a method, property or class attribute: reading a file runs no code)."""
        if not isinstance(attrs, dict):
            raise self.damaged(where, "its attributes are not a mapping")
        declared = fields if fields is not None else getattr(type(owner), "state_fields", None)
        for name, skeleton in attrs.items():
            if not _settable(type(owner), name, declared):
                raise self.damaged(where, f"it sets {name!r}, which is not state this version saves")
            if isinstance(skeleton, dict) and skeleton.get("built"):
                continue  # made from the scenario: as the continued run built it
            value = self.decode(skeleton, getattr(owner, name, None), f"{where}.{name}")
            if dataclasses.is_dataclass(owner) or hasattr(type(owner), "__slots__"):
                object.__setattr__(owner, name, value)
            else:
                owner.__dict__[name] = value


def _settable(cls: type, name: Any, declared: tuple[str, ...] | None) -> bool:
    if not isinstance(name, str):
        return False
    if declared is not None:
        return name in declared
    if dataclasses.is_dataclass(cls) and name in {field.name for field in dataclasses.fields(cls)}:
        return True
    on_class = inspect.getattr_static(cls, name, None)
    # a cached property's value, an instance's own attribute, or a slot
    return on_class is None or isinstance(on_class, functools.cached_property) \
        or type(on_class).__name__ == "member_descriptor"


def _consistent(value: Any, sim: Sim, damaged: Any) -> None:
    """The objects whose arrays may differ in length from those built (a graph's ties, the day's records)
    hold together: the kernels index one array by another's values."""
    from ..population.people import People
    from ..scoring.core import Scores
    from ..scoring.graph import Relations
    from .events import DayEvents

    if isinstance(value, People):
        population = sim.scenario.population
        _codes(value.group, "group", len(population.groups), damaged)
        _codes(value.district, "district", population.districts, damaged)
    elif isinstance(value, Scores):
        _codes(value.tier, "tier", len(value.scheme.tiers), damaged, none=-1)
        _codes(value.tier_cap, "tier_cap", len(value.scheme.tier_caps), damaged, none=-1)
    elif isinstance(value, Relations):
        indptr, indices = value.indptr, value.indices
        outside = bool(indices.size) and (indices.min() < 0 or indices.max() >= indptr.size - 1)
        if indptr.ndim != 1 or indptr.size == 0 or indptr[0] != 0 or indptr[-1] != indices.size \
                or np.any(np.diff(indptr) < 0) or outside:
            raise damaged("its ties (indptr, indices) do not hold together")
        for name, attribute in vars(Relations).items():  # worked out again from the ties, not taken on trust
            if isinstance(attribute, functools.cached_property):
                value.__dict__.pop(name, None)
    elif isinstance(value, DayEvents):
        lengths = {field.name: len(getattr(value, field.name)) for field in dataclasses.fields(value)}
        if len(set(lengths.values())) > 1:
            raise damaged(f"its columns differ in length ({lengths})")
        if len(value) and (value.subject.min() < 0 or value.subject.max() >= sim.n):
            raise damaged(f"a record names a person outside 0..{sim.n - 1}")


def _codes(codes: Any, name: str, count: int, damaged: Any, none: int = 0) -> None:
    """Codes that index a table of `count` entries (from `none`, -1 for "none"): the kernels and the
    summary index by them unchecked."""
    if isinstance(codes, np.ndarray) and codes.size and (codes.min() < none or codes.max() >= count):
        raise damaged(f"its {name} codes run {codes.min()}..{codes.max()}, where this scenario has {none}.."
                      f"{count - 1}")


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
    if len(skeleton["schemes"]) != len(sim.schemes):
        raise StateError(f"{path}: saved with {len(skeleton['schemes'])} schemes, the scenario has "
                         f"{len(sim.schemes)}: the file was edited or damaged; {_SAVE_AGAIN}")
    reader = _Reader(sim, arrays, path)
    try:
        reader.restore(sim, skeleton["sim"], "sim", Sim.state_fields)
        for state, attrs in zip(sim.schemes, skeleton["schemes"], strict=True):
            reader.restore(state, attrs, f"scheme {state.name}", type(state).state_fields)
        for module in sim.modules:
            reader.restore(module, saved_modules[module.name], f"phase {module.name}", type(module).state_fields)
        if not changed_keys(skeleton["scenario"], sim.scenario):  # else made afresh: they do not track parameters
            for module in sim.modules:
                reader.restore(module, skeleton["caches"].get(module.name, {}), f"phase {module.name}",
                               type(module).cache_fields)
    except (KeyError, IndexError, TypeError, AttributeError) as error:  # an entry of the JSON edited out of shape
        raise StateError(f"{path}: an entry cannot be read ({type(error).__name__}: {error}): the file was edited or "
                         f"damaged; {_SAVE_AGAIN}") from None
    for state in sim.schemes:
        _codes(state.initial_tier, "initial_tier", len(state.scheme.tiers),
               lambda what, state=state: reader.damaged(f"scheme {state.name}", what), none=-1)
    _renumber_graphs(reader.made.values())
    for module in sim.modules:
        module.resume(sim)
    return day


def _renumber_graphs(made: Any) -> None:
    """Graphs restored keep their serials (sums cached on them say which graph they were made on):
    graphs made from now on are numbered after them."""
    from ..scoring import graph

    serials = [value.serial for value in made if isinstance(value, graph.Relations)]
    if serials:
        graph.restart_serials(max(serials) + 1)


__all__ = ["Module", "StateError", "check_continuation", "read_state", "restore_state", "save_state"]
