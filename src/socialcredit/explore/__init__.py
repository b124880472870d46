"""Exploring a scenario's assumptions: which of them decide the results (sensitivity.py), and
which values of them reproduce what was observed (calibrate.py). Both run many variants of one
scenario as the Dask tasks of runner/compare.py (points.py)."""
