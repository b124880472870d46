"""The app factory for server processes started by uvicorn (`serve --workers N`)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from ..scheme import load_scheme
from .api import create_app
from .core import Service
from .db import make_engine


def from_environment() -> FastAPI:
    """Build the app from SOCIALCREDIT_DB and SOCIALCREDIT_SCHEME (set by `socialcredit serve`, which
    has already checked the scheme and migrated the database); it settles in its lifespan."""
    url, scheme = os.environ["SOCIALCREDIT_DB"], os.environ["SOCIALCREDIT_SCHEME"]
    return create_app(Service(make_engine(url), load_scheme(scheme), write_engine=make_engine(url, writer=True)))
