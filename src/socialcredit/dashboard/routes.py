"""The pages of one run, a person, comparisons and new runs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from .folders import folder_of
from .pages import Pages, slug
from .runview import run_view


def add_routes(app: FastAPI, pages: Pages) -> None:
    runs = pages.runs

    @app.get("/run/{name}", response_class=HTMLResponse)
    def run_page(name: str) -> HTMLResponse:
        view = run_view(folder_of(runs, name))
        figures = {f"plot-{index}-{slug(section.heading)}": figure for section in view.sections
                   for index, figure in enumerate(section.figures, 1)}
        return pages.render("run.html", view=view, figures=figures)
