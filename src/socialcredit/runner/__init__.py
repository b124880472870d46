"""Running a scenario (`socialcredit simulate`): the day loop built from the registered phase
modules, a run and what it leaves behind (summary, people, report), paired counterfactuals, and
comparisons of variants over seeds."""
