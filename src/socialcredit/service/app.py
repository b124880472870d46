"""The app factory for server processes started by uvicorn (`serve --workers N`)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from ..scheme import load_scheme
from .api import create_app
from .auditkey import key_for
from .core import Service
from .db import make_engine


def from_environment() -> FastAPI:
    """Build the app from SOCIALCREDIT_DB, SOCIALCREDIT_SCHEME, SOCIALCREDIT_AUDIT_KEY and
    SOCIALCREDIT_CHECKPOINTS (set by `socialcredit serve`, which has already checked the scheme,
    made the audit key and migrated the database); it settles in its lifespan."""
    url, scheme = os.environ["SOCIALCREDIT_DB"], os.environ["SOCIALCREDIT_SCHEME"]
    key, checkpoints = os.environ.get("SOCIALCREDIT_AUDIT_KEY"), os.environ.get("SOCIALCREDIT_CHECKPOINTS")
    return create_app(Service(make_engine(url), load_scheme(scheme), write_engine=make_engine(url, writer=True),
                              audit_key=key_for(url, Path(key) if key else None),
                              checkpoints=Path(checkpoints) if checkpoints else None))
