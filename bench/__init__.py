"""Benchmarks: printed figures to compare over time, never timed tests (see bench/README.md)."""
