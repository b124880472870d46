"""`socialcredit validate`: every documented fact and every mechanism the README claims, checked.

Each check states its claim and source, measures it afresh, and passes or fails; each is shown able
to fail by a test that breaks what it checks (tests/validation). The README's claims about what the
model reproduces are the checks listed here, and only those."""

from __future__ import annotations

from .checks import FULL, QUICK, Check, Outcome, Size
from .registry import CHECKS, run_checks, write_validation

__all__ = ["CHECKS", "FULL", "QUICK", "Check", "Outcome", "Size", "run_checks", "write_validation"]
