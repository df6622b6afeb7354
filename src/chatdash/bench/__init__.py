"""Benchmarks run by `chatdash bench NAME`; each times our way against a baseline in one run."""
