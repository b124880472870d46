"""The pages of one run, a person, comparisons and new runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .folders import FolderProblem, folder_of, list_entries, read_entry, read_summary
from .guard import token_matches
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

    @app.get("/run/{name}/person", response_class=HTMLResponse)
    def person_page(name: str, id: str | None = None, pick: str | None = None) -> HTMLResponse:
        from .person import PICKS, pick_person, score_figure, story

        folder = folder_of(runs, name)
        summary = read_summary(folder)
        values = {"run": name, "people": int(summary["people"]), "picks": PICKS, "story": None, "figures": {},
                  "several": "schemes" in summary, "message": "", "chosen_because": ""}
        chosen: int | None = None
        if pick:
            chosen = pick_person(folder, pick)
            if chosen is None:
                values["message"] = f"No one in this run is {PICKS[pick].removeprefix('a ')}."
            else:
                values["chosen_because"] = (f"Person {chosen} is {PICKS[pick]}: of such people in this run, the one "
                                            + ("listed wrongly the longest." if pick == "wrongly_listed" else
                                               "who lost the most ties."))
        elif id not in (None, ""):
            if not (id.strip().isascii() and id.strip().isdigit()):  # '²' is a digit to str.isdigit
                values["message"] = (f"'{id}' is not a person id: ids are whole numbers from 0 to "
                                     f"{values['people'] - 1}.")
            else:
                chosen = int(id)
        if chosen is not None:
            try:
                told = story(folder, chosen)
            except FolderProblem as problem:
                values["message"] = str(problem)
                return pages.render("person.html", 404, **values)
            values["story"] = told
            values["figures"] = {f"score-{index}": figure for index, entry in enumerate(told.schemes, 1)
                                 if (figure := score_figure(entry, told.timeline)) is not None}
        return pages.render("person.html", 200 if not values["message"] else 404, **values)

    @app.get("/comparison/{name}", response_class=HTMLResponse)
    def comparison_page(name: str) -> HTMLResponse:
        from .comparing import comparison_view

        view = comparison_view(folder_of(runs, name))
        seeds = ", ".join(map(str, view["seeds"]))
        intro = (f"Each variant over {seeds} seed(s), the same seeds for every variant. Each cell is the mean "
                 "over seeds and its 95% interval, made on each figure's own scale so that it stays in its range "
                 f"({', '.join(view['methods'])}; see the README, Compare variants).")
        return pages.render("compare.html", heading=f"Comparison {name}", intro=intro, view=view, intervals=True,
                            figures={f"cmp-{i}": f for i, f in enumerate(view["figures"], 1)})

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(runs_picked: Annotated[list[str], Query(alias="runs")] = []) -> HTMLResponse:  # noqa: B006
        from .comparing import runs_view

        comparisons = [e for e in list_entries(runs) if e.kind == "comparison" and not e.problem]
        if not runs_picked:
            return pages.render("compare.html", heading="Compare", view=None, figures={}, comparisons=comparisons,
                                intro="Tick two runs or more in the list of runs to see them side by side, or open "
                                      "a comparison made by `socialcredit compare` (its variants with intervals).")
        view = runs_view([folder_of(runs, name) for name in runs_picked])
        intro = ("Each run is one seed: these are single values, without intervals. For differences with intervals, "
                 "run the variants over several seeds with `socialcredit compare`.")
        return pages.render("compare.html", heading="Runs side by side", view=view, intro=intro, intervals=False,
                            figures={f"cmp-{i}": f for i, f in enumerate(view["figures"], 1)},
                            comparisons=comparisons)

    @app.get("/validation/{name}", response_class=HTMLResponse)
    def validation_page(name: str) -> HTMLResponse:
        import pandas as pd

        folder = folder_of(runs, name)
        entry = read_entry(folder)
        if entry.problem:
            raise FolderProblem(entry.problem)
        if entry.kind != "validation":
            raise FolderProblem(f"{name} is a {entry.kind}, not a validation: open it at /{entry.kind}/{name}")
        checks = pd.read_csv(folder / "validation.csv", keep_default_na=False).to_dict("records")
        for check in checks:
            check["passed"] = str(check["passed"]).lower() == "true"
        return pages.render("validation.html", name=name, checks=checks, passed=sum(c["passed"] for c in checks))

    @app.get("/new", response_class=HTMLResponse)
    def new_form() -> HTMLResponse:
        from .jobs import parameters, scenario_choices

        return pages.render("new.html", presets=scenario_choices(), parameters=parameters(), form={}, message="",
                            int_type=int, csrf_token=app.state.csrf_token)

    @app.post("/new", response_class=HTMLResponse)
    async def new_run(request: Request) -> Response:
        from .jobs import JobProblem, parameters, parse_form, scenario_choices, start

        form = {key: str(value) for key, value in (await request.form()).items()}
        if not token_matches(form, app.state.csrf_token):
            return pages.problem("This form cannot be used", "The form did not come from this dashboard's own page "
                                 "(or the dashboard was restarted since it was opened): open /new again and "
                                 "submit from there.", 403)
        try:
            job = parse_form(form, runs)
            job_id = start(runs, job)
        except JobProblem as problem:
            return pages.render("new.html", 422, presets=scenario_choices(), parameters=parameters(), form=form,
                                message=str(problem), int_type=int, csrf_token=app.state.csrf_token)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(job_id: str) -> HTMLResponse:
        from .jobs import read_job

        job = read_job(runs, job_id)
        if job is None:
            return pages.problem("No such run", f"No run '{job_id}' was started from this dashboard.", 404)
        return pages.render("job.html", job=job)

    @app.get("/jobs/{job_id}/status")
    def job_status(job_id: str) -> JSONResponse:
        from .jobs import read_job

        job = read_job(runs, job_id)
        if job is None:
            return JSONResponse({"detail": f"no run '{job_id}' was started here"}, status_code=404)
        return JSONResponse(job.as_dict())
