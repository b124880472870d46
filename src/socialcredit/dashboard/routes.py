"""The pages of one run, a person, comparisons and new runs."""

from __future__ import annotations

from fastapi import FastAPI

from .pages import Pages


def add_routes(app: FastAPI, pages: Pages) -> None:
    pass
