"""The simulation's frame: the `Sim` every phase reads and writes, the day's events as arrays, the
contract a phase module keeps, and the memory a run needs."""
