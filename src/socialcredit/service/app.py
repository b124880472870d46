"""The app factory for server processes started by uvicorn (`serve --workers N`)."""

from __future__ import annotations

import gc
import os

from fastapi import FastAPI

from ..scheme import load_scheme
from .api import create_app
from .core import Service
from .db import make_engine


def settle(service: Service) -> None:
    """Before serving: load the scoring core's compiled kernels (see Service.warm), then move
    everything made so far (the libraries, the scheme, the app) out of the garbage collector's
    reach. A full collection otherwise walks every object of SQLAlchemy, pandas, NumPy and
    FastAPI each time it comes (a stall for every request behind it: benchmarks/RESULTS.md,
    `socialcredit serve`); after this, only what serving made since."""
    service.warm()
    gc.collect()
    gc.freeze()


def from_environment() -> FastAPI:
    """Build the app from SOCIALCREDIT_DB and SOCIALCREDIT_SCHEME (set by `socialcredit serve`, which
    has already checked the scheme and migrated the database)."""
    url, scheme = os.environ["SOCIALCREDIT_DB"], os.environ["SOCIALCREDIT_SCHEME"]
    service = Service(make_engine(url), load_scheme(scheme), write_engine=make_engine(url, writer=True))
    app = create_app(service)
    settle(service)
    return app
