"""The target_risk task plug-in (seed 000, BugPredict AI): three heads -> risk score and level."""
