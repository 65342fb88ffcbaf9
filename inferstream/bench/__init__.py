"""Benchmarks (`inferstream bench <scenario>`): one module per scenario, shared helpers."""
