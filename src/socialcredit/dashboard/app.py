"""The dashboard's web app: routes over one runs folder, pages rendered on the server with Jinja2."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from .folders import FolderProblem, folder_of, list_entries
from .guard import LoopbackOnly
from .pages import Pages


def plotly_js() -> Path:
    """plotly.min.js as the installed plotly package ships it: served from here, never a CDN."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(runs: Path, port: int | None = None) -> FastAPI:
    """The dashboard over the runs folder `runs` (which must exist), answering at 127.0.0.1:`port`
    (or localhost:`port`) only; `port` None: at the loopback names on any port (tests)."""
    import secrets

    runs = Path(runs)
    pages = Pages(runs)
    app = FastAPI(title="socialcredit dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runs = runs
    app.state.pages = pages
    # A form's token: a page of another site cannot read it, so cannot post a form that carries it.
    app.state.csrf_token = secrets.token_urlsafe(32)
    app.add_middleware(LoopbackOnly, port=port)
    app.mount("/static", StaticFiles(directory=str(resources.files("socialcredit.dashboard") / "static")),
              name="static")

    @app.exception_handler(FolderProblem)
    def folder_problem(request: Request, problem: FolderProblem) -> HTMLResponse:
        # a folder that is missing, half-written or not what its files claim: said, never a 500
        return pages.problem("This folder cannot be shown", str(problem), 404)

    @app.exception_handler(404)
    def not_found(request: Request, error: Exception) -> HTMLResponse:
        return pages.problem("Not found", f"There is no page at {request.url.path}.", 404)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "runs": str(runs)})

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)  # no icon: said plainly, so browsers log no missing file

    @app.get("/plotly.min.js")
    def plotly_script() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript")

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        from .jobs import list_jobs

        return pages.render("index.html", entries=list_entries(runs), jobs=list_jobs(runs))

    @app.get("/run/{name}/report.html")
    def report(name: str) -> Response:
        path = folder_of(runs, name) / "report.html"
        if not path.is_file():
            raise FolderProblem(f"{name} has no report.html")
        return FileResponse(path, media_type="text/html")

    from .routes import add_routes

    add_routes(app, pages)
    return app
