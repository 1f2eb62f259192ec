"""Benchmarks: `make bench` prints one JSON line per figure, each with its raw ceiling and ratio."""
