"""socialcredit: social credit and reputation scoring systems, implemented transparently.

Three jobs share one scoring core: simulate a scheme over a synthetic population, score a real
event log, and serve a scheme live. See DESIGN.md for the architecture.
"""

__version__ = "0.1.0"
