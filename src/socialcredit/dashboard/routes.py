"""The pages of one run, a person, comparisons and new runs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from .folders import FolderProblem, folder_of, read_summary
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
            if not id.strip().isdigit():
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
