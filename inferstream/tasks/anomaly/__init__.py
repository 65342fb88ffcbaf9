"""The anomaly task plug-in (seed 003, Pynomaly): isolation forest + robust z-score per series."""
