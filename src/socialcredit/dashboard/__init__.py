"""`socialcredit dashboard`: a local web app over a folder of runs (a top layer beside `cli.py`).

It reads what `simulate`, `compare` and `validate` leave in their output folders (summary.json,
metrics.parquet, people.parquet, events, table.csv, validation.csv), draws them with Plotly in the
browser, follows one person through a run, and starts new runs in background processes. Nothing in
it is fetched from the network: templates, styles and Plotly's JavaScript ship in the package."""
