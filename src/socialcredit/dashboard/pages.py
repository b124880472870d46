"""Pages rendered on the server with Jinja2, from the package's templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape


def slug(text: str) -> str:
    """An HTML id made of a heading's letters and digits."""
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


class Pages:
    """Renders the templates with what every page shows (the runs folder)."""

    def __init__(self, runs: Path) -> None:
        self.runs = runs
        self.environment = Environment(loader=PackageLoader("socialcredit.dashboard", "templates"),
                                       autoescape=select_autoescape(["html"]))
        self.environment.filters["commas"] = lambda number: f"{number:,}"
        self.environment.filters["slug"] = slug

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.environment.get_template(template).render(runs_folder=str(self.runs), **values)
        return HTMLResponse(html, status_code=status)

    def problem(self, heading: str, message: str, status: int) -> HTMLResponse:
        return self.render("error.html", status, heading=heading, message=message)
