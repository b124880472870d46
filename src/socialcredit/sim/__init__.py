"""The simulation: scenario, step loop, random streams."""
