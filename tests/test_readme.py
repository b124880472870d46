"""The README is the user's first test: every block in it runs here, so that an edit that breaks one
fails CI.

- ```yaml blocks load: the scheme block with `socialcredit scheme check`, the scenario block with
  `socialcredit scenario check` (and it runs: it is `my_scenario.yaml` of the Simulate block).
- The ```python block runs, at the size PYTHON_SIZES gives.
- Every line of every ```sh block is a command and runs for real, from a fresh folder holding the
  repository's `examples/` and the stand-ins of FILES, at the sizes of `sized` (every substitution is
  listed there); `serve` and `dashboard` run in the background on a free port of 127.0.0.1 with its database in that
  folder, and the curl lines talk to it. A line runs, or is in NOT_RUN with the reason, or is a set-up
  step that must equal what `.ci/run` runs: nothing is skipped silently.
- ```text blocks are fragments (an error message, a piece of summary.json, a folder layout): shown,
  not run. A block with any other language, or none, fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
LANGUAGES = {"sh", "yaml", "python", "text"}

# -- what the test changes, and why ------------------------------------------------------------------

# Sizes: `simulate` and `compare` lines run at this size, whatever they say (the README's sizes take
# minutes); --seeds at most SEEDS. `validate` runs its checks at VALIDATE_SIZE (it has no size option:
# the test sets socialcredit.validation's QUICK and FULL to it), so its verdicts mean nothing here
# (exit 1 when a check fails is documented and accepted); that it runs, prints its table and writes
# validation.csv is what is tested.
# --save-state-at at most DAYS // 2 (a day of the shorter run).
POPULATION, DAYS, SEEDS = 2000, 20, 2
VALIDATE_SIZE = {"population": 2000, "days": 20, "seeds": 2}
VALIDATE_AT_TEST_SIZE = (
    "import sys, socialcredit.validation as v; from socialcredit.cli import app\n"
    f"v.QUICK = v.FULL = v.Size(**{VALIDATE_SIZE!r})\n"
    "app(sys.argv[1:], prog_name='socialcredit')\n")
# A simulate, compare or validate without --out writes to runs/<name>-<timestamp>, to the second: two
# such lines in one second would collide, so the test names each folder (runs/readme-<n>).
# A score of a simulation's saved events (runs/...) reads them at the run's last day: at the test's
# size, the first day + DAYS - 1 (the README's as-of, for its own size, is checked against its preset).
# `serve` listens on a free port (the README's localhost:8000 is replaced by it in the curl lines).
# curl runs with -w to print the HTTP status after the body (curl -s exits 0 on an HTTP error).
# A $VARIABLE in a socialcredit line is the one an earlier line set (a key), as the shell expands it.

# The Python block, at the test's size (each substitution must apply).
PYTHON_SIZES = {"population=20000": f"population={POPULATION}", "days=90": f"days={DAYS}"}

# Lines (or `&&` steps) that do not run here, each with its reason.
NOT_RUN = {
    "socialcredit compare default my.yaml --set social.shun_listed=0,0.01 --seeds 5 --scheduler tcp://10.0.0.5:8786":
        "needs a Dask scheduler at tcp://10.0.0.5:8786, which does not exist here",
    "socialcredit validate":
        "the checks of `validate --quick` at another size: at the test's size it would be that run again",
    "ruff check src tests benchmarks": "the test command: CI runs it (checked against .ci/run)",
    "mypy": "the test command: CI runs it (checked against .ci/run)",
    "pytest": "the test command: this very suite (checked against .ci/run)",
}

# Set-up steps: not run again (CI has run them), but each must be a step of .ci/run, where
# `pip install -e .` is CI's install without its `[test,bench]` extras (bench: the peer benchmarks' tests).
SET_UP = {"python3 -m venv .venv", ". .venv/bin/activate", "pip install -e .", "pip install -e '.[test,bench]'"}

# Steps of .ci/run the README does not show, each with its reason.
CI_ONLY = {
    "set -euo pipefail": "the script stops at the first failure",
    'cd "$(dirname "$0")/.."': "the script runs from the clone's root, where the README's commands are typed",
    "python -m pip install --quiet --upgrade pip": "an up-to-date pip on a fresh machine",
    "command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
    "chromium >/dev/null; }": "Debian's Chromium for the dashboard's browser tests (tests/dashboard/test_browser.py)",
    'SOCIALCREDIT_TEST_POSTGRES="$(./.ci/postgres.sh)"':
        "the service tests also run on PostgreSQL in CI (README, Serve: they run on SQLite without it)",
    'test -n "$SOCIALCREDIT_TEST_POSTGRES"': "a server that did not start fails CI, not skips its tests",
    "export SOCIALCREDIT_TEST_POSTGRES": "the tests read the server's URL from the environment",
}

# What some curl lines must answer (keys of the JSON body), by a piece of the line.
CURL_EXPECT: dict[str, dict[str, object]] = {
    "/v1/events ": {"stored": 1},
    "/v1/subjects/bob/entitlements/loan": {"allowed": False},
    "/v1/appeals/1/decision": {"status": "granted"},
    "/v1/audit/checkpoint": {"log": "socialcredit audit log v1"},
    "/v1/subjects/bob/export": {"subject": "bob"},
    "-X DELETE localhost:8000/v1/subjects/bob": {"subject": "bob"},
    "/v1/input-lists/court_defaulters": {"list": "court_defaulters"},
    "/v1/subjects/carol/entitlements/loan": {"allowed": False},
}

# The user's own files named in the README, and the stand-ins the test writes for them (see `stand_ins`).
FILES = {
    "my_scenario.yaml": "the README's scenario block",
    "my.yaml": "the README's scenario block",
    "my_scheme.yaml": "the lending scheme with a network term, each entitlement using `social` (README, Simulate)",
    "events.parquet": "examples/events.csv as Parquet",
    "ties.csv": "ties between three subjects of examples/events.csv",
}

# Blocks that take more than a few seconds on 2 busy cores; each section's commands are also tested
# quickly elsewhere (tests/sim, tests/service, tests/cli).
SLOW_SECTIONS = {"Validate: what the model reproduces, checked", "Simulate", "Compare variants", "Serve a scheme",
                 "Score an event log", "Set up", "Dashboard: explore runs in the browser",
                 "Sensitivity: which assumptions matter", "Calibrate: fit parameters to what was observed",
                 "Performance", "The court list over the years, fitted to the published counts"}


# -- reading the README ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int  # of the opening fence
    section: str  # the heading above it

    @property
    def name(self) -> str:
        return f"{self.section} (line {self.line}, {self.language})"


def readme_blocks() -> list[Block]:
    blocks: list[Block] = []
    body: list[str] = []
    section, fence = "", ("", 0)
    inside = False
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if not inside:
            if line.startswith("```"):
                inside, fence, body = True, (line[3:].strip(), number), []
            elif line.startswith("#"):
                section = line.lstrip("#").strip()
        elif line.startswith("```"):
            blocks.append(Block(fence[0], "\n".join(body) + "\n", fence[1], section))
            inside = False
        else:
            body.append(line)
    assert not inside, f"README.md:{fence[1]}: a block is never closed"
    return blocks


def blocks_of(language: str) -> list[Block]:
    return [block for block in readme_blocks() if block.language == language]


def commands(block: Block) -> list[str]:
    """The block's commands: lines joined where they end in a backslash, without comment-only lines."""
    joined = re.sub(r"\\\n\s*", "", block.text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def without_comment(command: str) -> str:
    """The command without a trailing comment (a # outside quotes, after a space)."""
    quote = None
    for position, char in enumerate(command):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and position and command[position - 1].isspace():
            return command[:position].rstrip()
    return command


def steps(command: str) -> list[str]:
    return [step.strip() for step in without_comment(command).split(" && ")]


def ci_steps() -> list[str]:
    found = []
    for line in CI_RUN.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line in CI_ONLY:
            continue
        found += [step.replace("python -m pip install --quiet", "pip install") for step in steps(line)]
    return found


def scenario_block() -> Block:
    (block,) = [b for b in blocks_of("yaml") if "scheme" in yaml.safe_load(b.text)]
    return block


# -- running -----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def option(argv: list[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def set_option(argv: list[str], name: str, value: str) -> list[str]:
    for index, arg in enumerate(argv):
        if arg == name:
            return [*argv[:index + 1], value, *argv[index + 2:]]
        if arg.startswith(name + "="):
            return [*argv[:index], f"{name}={value}", *argv[index + 1:]]
    return [*argv, name, value]


def networked_lending(uses: list[str]) -> dict:
    """The lending scheme with a network term, each entitlement declaring `uses`."""
    from importlib import resources

    scheme = yaml.safe_load((resources.files("socialcredit.presets") / "lending.yaml").read_text(encoding="utf-8"))
    scheme["network"] = {"weight": 0.2}
    for entitlement in scheme["entitlements"].values():
        entitlement["uses"] = uses
    return scheme


def stand_ins(folder: Path) -> None:
    """The files a reader would have (the repository's examples/) and stand-ins for their own (FILES)."""
    shutil.copytree(ROOT / "examples", folder / "examples")
    scenario = scenario_block().text
    (folder / "my_scenario.yaml").write_text(scenario)
    (folder / "my.yaml").write_text(scenario)
    (folder / "my_scheme.yaml").write_text(yaml.safe_dump(networked_lending(uses=["social"]), sort_keys=False))
    events = pd.read_csv(folder / "examples" / "events.csv", dtype={"subject": str, "kind": str, "time": str})
    events.to_parquet(folder / "events.parquet", index=False)
    subjects = sorted(events["subject"].unique())[:3]
    pd.DataFrame({"subject": subjects[:2], "other": subjects[1:3]}).to_csv(folder / "ties.csv", index=False)


def curl_argv(command: str, env: dict[str, str]) -> list[str]:
    """The arguments bash would give curl for this line (quotes and $VARIABLES as the shell reads them)."""
    printed = subprocess.run(["bash", "-c", "printf '%s\\0' " + command.removeprefix("curl ")],
                             env=env, capture_output=True, text=True, check=True).stdout
    return printed.split("\0")[:-1]


def curl_in_python(argv: list[str], folder: Path) -> tuple[int, str]:
    """What curl -s [-X METHOD] [-H HEADER]... [-d DATA | -d @FILE] [-o FILE] URL does, with httpx (where
    curl is missing), in `folder`."""
    method, headers, data, url, written, index = None, {}, None, None, None, 0
    while index < len(argv):
        arg = argv[index]
        if arg == "-s":
            index += 1
            continue
        if arg in ("-X", "-H", "-d", "-o"):
            value = argv[index + 1]
            if arg == "-X":
                method = value
            elif arg == "-H":
                key, _, text = value.partition(":")
                headers[key.strip()] = text.strip()
            elif arg == "-o":
                written = folder / value
            else:
                data = (folder / value[1:]).read_text() if value.startswith("@") else value
            index += 2
            continue
        assert not arg.startswith("-"), f"the curl stand-in does not know {arg}"
        url, index = arg, index + 1
    assert url is not None
    url = url if "://" in url else "http://" + url
    response = httpx.request(method or ("POST" if data is not None else "GET"), url, headers=headers,
                             content=data, timeout=30)
    if written is not None:
        written.write_text(response.text)
        return response.status_code, ""
    return response.status_code, response.text


def written_to(argv: list[str]) -> str | None:
    """The file a curl line writes its answer to (-o FILE), if it does."""
    return argv[argv.index("-o") + 1] if "-o" in argv else None


class Session:
    """A reader at a shell in a fresh folder, typing the README's lines one after another."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.env = folder, {**os.environ}
        self.server: subprocess.Popen | None = None
        self.port = free_port()
        self.ran: list[str] = []
        self.not_run: dict[str, str] = {}
        self.runs = 0
        self.log: list[str] = []  # the commands as run (pytest shows it when a test fails)

    def close(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=20)

    def line(self, command: str) -> None:
        for step in steps(command):
            if step in NOT_RUN:
                self.not_run[step] = NOT_RUN[step]
            elif step in SET_UP:
                self.not_run[step] = "set-up: checked against .ci/run"
            else:
                self.step(step)
                self.ran.append(step)

    def step(self, step: str) -> None:
        assignment = re.fullmatch(r"([A-Z_]+)=\$\((.*)\)", step)
        if assignment:
            self.env[assignment[1]] = self.socialcredit(assignment[2]).stdout.strip()
            assert self.env[assignment[1]], f"{step}: printed nothing"
        elif step.endswith("&"):
            self.background(step.removesuffix("&").strip())
        elif step.startswith("curl "):
            self.curl(step)
        elif step.startswith("socialcredit "):
            self.socialcredit(step)
        elif step.startswith("python benchmarks/"):
            self.benchmark(step)
        else:
            raise AssertionError(f"no rule for running this README line: {step!r} (add one to tests/test_readme.py)")

    def words(self, command: str) -> list[str]:
        """The command's words as the shell gives them: quotes removed, $VARIABLES of earlier lines expanded."""
        return [re.sub(r"\$\{?([A-Z_]+)\}?", lambda name: self.env[name[1]], word)
                for word in shlex.split(without_comment(command), comments=True)]

    def sized(self, argv: list[str]) -> tuple[list[str], str]:
        """The command as the test runs it (the substitutions listed at the top), and the Python to run it."""
        job = argv[0]
        if job in ("simulate", "compare"):
            argv = set_option(set_option(argv, "--population", str(POPULATION)), "--days", str(DAYS))
            if option(argv, "--seeds") is not None:
                argv = set_option(argv, "--seeds", str(min(int(option(argv, "--seeds") or 1), SEEDS)))
            if option(argv, "--save-state-at") is not None:  # a day of the test's shorter run, with days after it
                day = min(int(option(argv, "--save-state-at") or 0), DAYS // 2)
                argv = set_option(argv, "--save-state-at", str(day))
        if job in ("simulate", "compare", "validate") and option(argv, "--out") is None and \
                option(argv, "-o") is None:
            self.runs += 1
            argv = [*argv, "--out", f"runs/readme-{self.runs}"]
        if job == "score" and argv[1].startswith("runs/") and option(argv, "--as-of") is not None:
            run = yaml.safe_load((self.folder / Path(argv[1]).parent / "scenario.yaml").read_text())["run"]
            last = dt.date.fromisoformat(str(run["start"])) + dt.timedelta(days=run["days"] - 1)
            assert run["days"] == DAYS
            argv = set_option(argv, "--as-of", last.isoformat())
        if job in ("serve", "dashboard"):
            argv = set_option(argv, "--port", str(self.port))
        if job == "validate":
            return argv, VALIDATE_AT_TEST_SIZE
        return argv, "from socialcredit.cli import main; main()"

    def socialcredit(self, command: str) -> subprocess.CompletedProcess:
        argv, program = self.sized(self.words(command)[1:])
        assert argv[0] not in ("serve", "dashboard"), \
            f"{command}: {argv[0]} runs until stopped: the README starts it in the background (&)"
        self.log.append(f"socialcredit {shlex.join(argv)}")
        result = subprocess.run([sys.executable, "-c", program, *argv], cwd=self.folder, env=self.env,
                                capture_output=True, text=True, timeout=600)
        allowed = {0, 1} if argv[0] == "validate" else {0}
        assert result.returncode in allowed, (f"{command}\nran as socialcredit {shlex.join(argv)}\nexit "
                                              f"{result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        assert "Traceback" not in result.stderr, result.stderr
        if argv[0] == "validate":
            assert "checks pass" in result.stdout
            assert (self.folder / str(option(argv, "--out")) / "validation.csv").exists()
        return result

    def benchmark(self, command: str) -> None:
        """A benchmark script of the clone, as typed at its root, with the README's (small) options."""
        words = self.words(command)
        self.log.append(shlex.join(words))
        result = subprocess.run([sys.executable, str(ROOT / words[1]), *words[2:]], cwd=self.folder, env=self.env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, (f"{command}\nexit {result.returncode}\n{result.stdout[-3000:]}\n"
                                        f"{result.stderr[-3000:]}")
        assert "Traceback" not in result.stderr, result.stderr

    def background(self, command: str) -> None:
        argv, program = self.sized(self.words(command)[1:])
        assert argv[0] in ("serve", "dashboard"), f"no rule for running {command!r} in the background"
        self.log.append(f"socialcredit {shlex.join(argv)} &")
        self.server = subprocess.Popen([sys.executable, "-c", program, *argv], cwd=self.folder, env=self.env,
                                       stdout=subprocess.DEVNULL, stderr=(self.folder / "serve.log").open("w"))
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    if argv[0] == "dashboard":  # it lists the runs the block made
                        listed = httpx.get(f"http://127.0.0.1:{self.port}/", timeout=30).text
                        runs = self.folder / (argv[1] if len(argv) > 1 and not argv[1].startswith("-") else "runs")
                        for run in runs.iterdir():
                            assert f'href="/run/{run.name}"' in listed, f"{command}: {run.name} not listed"
                    return
            except httpx.TransportError:
                assert self.server.poll() is None, (self.folder / "serve.log").read_text()
                time.sleep(0.1)
        raise AssertionError(f"{command}: no answer on port {self.port} after 30 s")

    def curl(self, command: str) -> None:
        command = without_comment(command).replace("localhost:8000", f"127.0.0.1:{self.port}")
        assert f"127.0.0.1:{self.port}" in command, f"{command}: the README's curl lines talk to localhost:8000"
        self.log.append(command)
        argv = curl_argv(command, self.env)
        if shutil.which("curl"):
            result = subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], env=self.env, cwd=self.folder,
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, f"{command}\n{result.stderr}"
            body, _, status = result.stdout.rpartition("\n")
        else:
            code, body = curl_in_python(argv, self.folder)
            status = str(code)
        written = written_to(argv)
        if written is not None:  # -o FILE: the answer is in the file
            body = (self.folder / written).read_text()
        assert status.startswith("2"), f"{command}\nHTTP {status}: {body}"
        answer = json.loads(body)
        for piece, expected in CURL_EXPECT.items():
            if piece in command:
                assert {key: answer.get(key) for key in expected} == expected, f"{command}\n{answer}"


# -- the tests ---------------------------------------------------------------------------------------

def test_every_block_has_a_language_the_test_understands():
    blocks = readme_blocks()
    unknown = [block.name for block in blocks if block.language not in LANGUAGES]
    assert not unknown, f"README blocks without a language this test knows ({sorted(LANGUAGES)}): {unknown}; " \
                        "mark a fragment that does not run as ```text"
    assert {block.language for block in blocks} == LANGUAGES


def test_the_set_up_is_what_ci_runs():
    ci = ci_steps()
    (run_line,), (test_line,) = (commands(block) for block in blocks_of("sh") if block.section == "Set up")
    test_command = steps(test_line)
    assert test_command == ci, f"README's test command {test_command} is not .ci/run's {ci}"
    first = [step for step in steps(run_line) if step in SET_UP]
    assert first == [step.replace("'.[test,bench]'", ".") for step in ci[:3]], "README's set-up is not .ci/run's"
    assert set(steps(run_line)) - set(first) == {"socialcredit simulate"}


def test_the_socialcredit_command_is_the_cli():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["socialcredit"] == "socialcredit.cli:main"


def test_every_exception_still_names_a_line_of_the_readme():
    lines = {step for block in blocks_of("sh") for command in commands(block) for step in steps(command)}
    assert set(NOT_RUN) <= lines, f"NOT_RUN names lines no longer in the README: {set(NOT_RUN) - lines}"
    assert lines >= SET_UP
    text = README.read_text(encoding="utf-8")
    for name in FILES:
        assert name in text, f"FILES names {name}, no longer in the README"


@pytest.mark.parametrize("block", blocks_of("yaml"), ids=lambda block: block.name)
def test_yaml_block_is_valid(block, tmp_path):
    data = yaml.safe_load(block.text)
    path = tmp_path / "block.yaml"
    path.write_text(block.text)
    if "scheme" in data or "schemes" in data:  # a scenario names its scheme, or its schemes
        job, said = "scenario", f"valid scenario '{data['id']}'"
    else:
        assert {"events", "scale"} <= set(data), f"{block.name}: neither a scheme nor a scenario"
        job, said = "scheme", f"valid scheme '{data['id']}'"
    result = subprocess.run([sys.executable, "-m", "socialcredit.cli", job, "check", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and said in result.stdout, result.stdout + result.stderr


@pytest.mark.slow
def test_python_block_runs(tmp_path):
    (block,) = blocks_of("python")
    program = block.text
    for old, new in PYTHON_SIZES.items():
        assert old in program, f"PYTHON_SIZES: {old!r} is no longer in the README's Python block"
        program = program.replace(old, new)
    program += f"\nassert run.summary and len(run.people) == {POPULATION} and len(run.metrics) > 0\n"
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "report.html").stat().st_size > 0


def sh_blocks() -> list:
    return [pytest.param(block, id=block.name, marks=[pytest.mark.slow] if block.section in SLOW_SECTIONS else [])
            for block in blocks_of("sh")]


@pytest.mark.parametrize("block", sh_blocks())
def test_sh_block_runs(block, tmp_path):
    stand_ins(tmp_path)
    session = Session(tmp_path)
    try:
        for command in commands(block):
            session.line(command)
    finally:
        session.close()
    every = [step for command in commands(block) for step in steps(command)]
    assert sorted(session.ran + list(session.not_run)) == sorted(every), "every line ran or has its reason"
    if any("--save-events --out" in command for command in commands(block)):
        check_saved_events_scores(block, tmp_path)


def save_events_block() -> Block:
    (block,) = [b for b in blocks_of("sh") if any("--save-events --out" in c for c in commands(b))]
    return block


def test_the_save_events_block_scores_at_its_runs_last_day():
    simulate_line, score_line = commands(save_events_block())
    from socialcredit.scenario.load import load_scenario

    scenario, _ = load_scenario(option(shlex.split(simulate_line, comments=True), "--preset"), {})
    last = dt.date.fromisoformat(str(scenario.run.start)) + dt.timedelta(days=scenario.run.days - 1)
    assert option(shlex.split(score_line, comments=True), "--as-of") == last.isoformat()


def check_saved_events_scores(block: Block, folder: Path) -> None:
    """Scoring a simulation's saved events at its last day gives its final scores (README, Simulate)."""
    _, score_line = commands(block)
    out = folder / str(option(shlex.split(score_line, comments=True), "--out"))
    scores = pd.read_csv(out, dtype={"subject": str}).set_index("subject").sort_index()
    people = pd.read_parquet(out.parent / "people.parquet")
    people.index = people["person"].astype(str)
    people = people.sort_index()
    assert len(scores) == len(people) == POPULATION
    assert list(scores.index) == list(people.index)
    assert scores["score"].equals(people["score"].astype(float)), "the scores are the simulation's"
    assert list(scores["tier"].fillna("")) == [str(t) if isinstance(t, str) else "" for t in people["tier"]]


def test_score_refuses_the_default_scenarios_scheme_as_the_readme_says():
    """README, Simulate: the default scenario's `example` scheme crosses contexts (a financial blacklist bars
    flights) and its network term reads relations, so `score` refuses its saved events."""
    from socialcredit.scenario.load import load_scenario
    from socialcredit.scheme import load_scheme
    from socialcredit.scheme.guards import classify

    _, schemes = load_scenario("default", {})
    scheme = schemes[0].scheme
    verdict = classify(load_scheme(scheme.id))
    assert scheme.id == "example" and not verdict.allowed
    assert any("board_flight" in reason and "late_payment (financial)" in reason and "relations (social)" in reason
               for reason in verdict.refusals), verdict.refusals


def test_a_network_term_is_scored_only_where_entitlements_use_social(tmp_path):
    """README, Simulate: `score` accepts a scheme with a network term only where each entitlement lists
    `social` in its `uses` (the stand-in my_scheme.yaml relies on it)."""
    for uses, code in (([], 3), (["social"], 0)):
        path = tmp_path / f"scheme-{code}.yaml"
        path.write_text(yaml.safe_dump(networked_lending(uses), sort_keys=False))
        result = subprocess.run([sys.executable, "-m", "socialcredit.cli", "score", str(ROOT / "examples/events.csv"),
                                 "--scheme", str(path)], capture_output=True, text=True, timeout=120)
        assert result.returncode == code, result.stderr
        if code:
            assert "relations (social)" in result.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="compares the stand-in with curl itself")
def test_the_curl_stand_in_sends_what_curl_sends(tmp_path):
    """Where curl is missing, the serve block's curl lines run through `curl_in_python`: it must send what
    curl sends (method, headers, body), shown here against an echo server."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Echo(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.dumps({"method": self.command, "path": self.path,
                               "authorization": self.headers.get("authorization"),
                               "type": self.headers.get("content-type"),
                               "body": self.rfile.read(length).decode()}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {**os.environ, "OPERATOR": "op_key", "BOB": "bob key", "REVIEWER": "rev'key", "AUDITOR": "aud",
               "ADMIN": "adm", "COURTS": "the courts", "LENDER": "lend"}
        curls = [c for b in blocks_of("sh") for c in commands(b) if c.startswith("curl ")]
        assert len(curls) >= 4
        (tmp_path / "kept.json").write_text('{"kept": "a checkpoint"}')  # what `-d @kept.json` sends
        for command in curls:
            command = without_comment(command).replace("localhost:8000", f"127.0.0.1:{server.server_port}")
            by_curl = subprocess.run(["bash", "-c", command], env=env, cwd=tmp_path, capture_output=True, text=True,
                                     timeout=30)
            assert by_curl.returncode == 0, by_curl.stderr
            argv = curl_argv(command, env)
            sent_by_curl = (tmp_path / written_to(argv)).read_text() if written_to(argv) else by_curl.stdout
            status, by_python = curl_in_python(argv, tmp_path)
            sent_by_python = (tmp_path / written_to(argv)).read_text() if written_to(argv) else by_python
            assert status == 200 and json.loads(sent_by_python) == json.loads(sent_by_curl), command
    finally:
        server.shutdown()
