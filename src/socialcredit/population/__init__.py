"""Synthetic people (struct of arrays) and their social graph (CSR)."""

from .graph import homophilous_small_world
from .people import People, make_people

__all__ = ["People", "homophilous_small_world", "make_people"]
