"""The scheme format: pydantic models, YAML loading with located errors, expressions, guards."""

from .errors import ExpressionError, Problem, SchemeError
from .expressions import Expression, Kind, compile_expression
from .loader import load_scheme, load_scheme_text, preset_names, scheme_from_data
from .models import CATEGORIES, SPECIAL_CATEGORIES, Component, Entitlement, Feature, Scheme, Tier

__all__ = [
    "CATEGORIES", "SPECIAL_CATEGORIES", "Component", "Entitlement", "Expression", "ExpressionError", "Feature",
    "Kind", "Problem", "Scheme", "SchemeError", "Tier", "compile_expression", "load_scheme",
    "load_scheme_text", "preset_names", "scheme_from_data",
]
