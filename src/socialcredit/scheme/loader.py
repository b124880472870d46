"""Load schemes from YAML files or shipped presets, turning every error into a SchemeError."""

from __future__ import annotations

from importlib import resources
from pathlib import Path as FilePath
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .errors import LocatedValueError, Path, Problem, SchemeError, suggest
from .models import Scheme
from .yamlsource import Positions, locate, parse_yaml, read_yaml_file

PRESETS_PACKAGE = "socialcredit.presets"


def known_keys(model: type[BaseModel], path: Path) -> list[str]:
    """The keys a mapping at `path` (below `model`) may have: its model's fields, where the path
    leads through models, lists and mappings of models to one."""
    node: Any = model
    for part in path:
        node = _inner(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            if field is None:
                return []
            node = field.annotation
        elif get_origin(node) in (dict, list, tuple):
            node = get_args(node)[-1] if get_args(node) else None
        else:
            return []
    node = _inner(node)
    return sorted(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []


def _inner(node: Any) -> Any:
    """A model inside an optional or a union (`X | None`), else the node itself."""
    if get_origin(node) in (Union, UnionType):
        models = [a for a in get_args(node) if isinstance(a, type) and issubclass(a, BaseModel)]
        containers = [a for a in get_args(node) if get_origin(a) in (dict, list, tuple)]
        return models[0] if models else containers[0] if containers else node
    return node


def pydantic_problem(error: Any, model: type[BaseModel] | None = None, kind_name: str = "scheme") -> Problem:
    path: Path = tuple(error["loc"])
    kind = error["type"]
    message = error["msg"]
    fix = ""
    if kind == "extra_forbidden":
        message = f"unknown key '{path[-1]}'"
        known = known_keys(model, path[:-1]) if model is not None else []
        close = suggest(str(path[-1]), known) if known else ""
        fix = (f"{close} (the {kind_name} format: socialcredit {kind_name} schema)" if close.startswith("did you")
               else f"remove it, or check its spelling against the {kind_name} format (socialcredit {kind_name} "
                    "schema)")
    elif kind == "missing":
        message = f"'{path[-1]}' is required"
        fix = f"add {path[-1]}:"
    elif kind == "literal_error":
        value = str(error.get("input"))
        listed = error.get("ctx", {}).get("expected", "").replace(" or ", ",")
        expected = [part.strip(" '") for part in listed.split(",")]
        message = f"'{value}' is not allowed here"
        fix = suggest(value, [e for e in expected if e])
    elif kind == "string_pattern_mismatch":
        fix = "use lower-case letters, digits, '-' and '_'"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        message = f"expected a whole number, got {error.get('input')!r}"
        fix = "write a whole number, such as 20000"
    elif kind in ("float_parsing", "float_type"):
        message = f"expected a number, got {error.get('input')!r}"
        fix = "write a plain number"
    elif kind == "finite_number":  # .nan or .inf: refused as what it is, before any bound is compared
        message = f"{error.get('input')!r} is not a number"
        fix = "write a plain finite number (not .nan or .inf)"
    elif kind in ("dict_type", "model_type"):
        message = f"expected a mapping (key: value), got {type(error.get('input')).__name__}"
    elif kind == "list_type":
        message = f"expected a list, got {type(error.get('input')).__name__} {error.get('input')!r}"
        fix = f"write a list in brackets, such as [{error.get('input')}]"
    elif kind == "value_error" and isinstance(error.get("ctx", {}).get("error"), LocatedValueError):
        located = error["ctx"]["error"]
        path, message, fix = path + located.path, located.message, located.fix
    problem = Problem(path, message, fix)
    problem.key = kind == "extra_forbidden"
    return problem


def branch_tag(part: Any) -> bool:
    """Whether a step of a pydantic error's location names a branch of a union (`str`, `Receipt`,
    `list[str]`) rather than a key or index: our keys are lower-case names."""
    return isinstance(part, str) and (part in ("str", "int", "float", "bool") or part[:1].isupper() or "[" in part)


def pydantic_problems(errors: list[Any], model: type[BaseModel] | None = None,
                      kind_name: str = "scheme") -> list[Problem]:
    """The problems of a validation, one per place. Pydantic reports each branch of a union (`name`
    or `{source: ...}`) apart: where one branch got further than a wrong type, only its problem is
    said; where every branch is a wrong type, one problem says which types are expected. The
    branch's name is taken out of the path."""
    kept: list[Any] = []
    branches: dict[tuple[Any, ...], list[tuple[str, Any]]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        at = next((i for i, part in enumerate(loc) if branch_tag(part)), None)
        if at is None:
            kept.append(error)
        else:
            branches.setdefault(loc[:at], []).append((loc[at], {**error, "loc": loc[:at] + loc[at + 1:]}))
    for prefix, tried in branches.items():
        deeper = [error for _, error in tried if tuple(error["loc"]) != prefix]
        if deeper:
            kept.extend(deeper)
        else:
            expected = " or ".join(dict.fromkeys("a mapping" if tag[:1].isupper() else
                                                      "a name" if tag == "str" else f"a {tag}" for tag, _ in tried))
            kept.append({**tried[0][1], "type": "union_type", "msg": f"expected {expected}, got "
                         f"{type(tried[0][1].get('input')).__name__} {tried[0][1].get('input')!r}"})
    problems = [pydantic_problem(e, model, kind_name) for e in kept]
    return list({(p.path, p.message): p for p in problems}.values())


def scheme_from_data(data: Any, source: str | None = None, positions: Positions | None = None) -> Scheme:
    """Validate parsed YAML data into a Scheme, or raise SchemeError with located problems."""
    positions = positions or {}
    if not isinstance(data, dict):
        raise SchemeError([Problem((), "a scheme file must be a YAML mapping (id:, title:, scale:, events:, ...)")],
                          source)
    try:
        return Scheme.model_validate(data)
    except ValidationError as error:
        raise SchemeError([locate(p, positions) for p in pydantic_problems(error.errors(), Scheme)], source) from None
    except SchemeError as error:
        raise SchemeError([locate(p, positions) for p in error.problems], source) from None


def preset_names(kind: str = "scheme") -> list[str]:
    """Ids of the shipped presets of a kind (schemes are `<id>.yaml`, scenarios `<id>.scenario.yaml`)."""
    names = []
    for entry in resources.files(PRESETS_PACKAGE).iterdir():
        name = entry.name
        if kind == "scenario" and name.endswith(".scenario.yaml"):
            names.append(name[: -len(".scenario.yaml")])
        elif kind == "scheme" and name.endswith(".yaml") and not name.endswith(".scenario.yaml"):
            names.append(name[: -len(".yaml")])
    return sorted(names)


def load_scheme_text(text: str, source: str | None = None) -> Scheme:
    data, positions = parse_yaml(text, source)
    return scheme_from_data(data, source, positions)


def merge_overrides(data: Any, overrides: dict[str, Any]) -> Any:
    """Deep-merge `overrides` into YAML data; a None value deletes the key."""
    if not isinstance(data, dict):
        return data
    merged = dict(data)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_overrides(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_scheme(ref: str | FilePath, overrides: dict[str, Any] | None = None,
                overrides_from: str = "scheme_overrides") -> Scheme:
    """Load a scheme from a file path, or from a shipped preset id such as `example`, with optional
    overrides of its YAML data (for counterfactual rules), which errors name by `overrides_from`
    (the scenario's field that gave them)."""
    path = FilePath(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        data, positions, source = read_yaml_file(path)
    else:
        name = str(ref)
        if name not in preset_names():
            raise SchemeError([Problem((), f"no scheme file or preset named '{name}'",
                                       suggest(name, preset_names()) + " (or give a path to a .yaml file)")], name)
        entry = resources.files(PRESETS_PACKAGE) / f"{name}.yaml"
        source = f"preset:{name}"
        data, positions = parse_yaml(entry.read_text(encoding="utf-8"), source)
    if overrides:
        data = merge_overrides(data, overrides)
        source = f"{source} (with the scenario's {overrides_from})"
    return scheme_from_data(data, source, positions)
