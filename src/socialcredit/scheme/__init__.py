"""The scheme format: pydantic models, YAML loading with located errors, expressions, guards.

The names below are loaded when first used (PEP 562), so that importing a light part of the
package (`scheme.errors`, for the command line's error type) does not load pydantic and NumPy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import ExpressionError, Problem, SchemeError
    from .expressions import Expression, Kind, compile_expression
    from .loader import load_scheme, load_scheme_text, preset_names, scheme_from_data
    from .models import CATEGORIES, SPECIAL_CATEGORIES, Component, Entitlement, Feature, Scheme, Tier

_WHERE = {
    "ExpressionError": "errors", "Problem": "errors", "SchemeError": "errors",
    "Expression": "expressions", "Kind": "expressions", "compile_expression": "expressions",
    "load_scheme": "loader", "load_scheme_text": "loader", "preset_names": "loader", "scheme_from_data": "loader",
    "CATEGORIES": "models", "SPECIAL_CATEGORIES": "models", "Component": "models", "Entitlement": "models",
    "Feature": "models", "Scheme": "models", "Tier": "models",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # looked up once
    return value


__all__ = [
    "CATEGORIES", "SPECIAL_CATEGORIES", "Component", "Entitlement", "Expression", "ExpressionError", "Feature",
    "Kind", "Problem", "Scheme", "SchemeError", "Tier", "compile_expression", "load_scheme",
    "load_scheme_text", "preset_names", "scheme_from_data",
]
