"""The version of the model and formats (pyproject.toml's), which every summary.json carries."""

__version__ = "0.3.0"
