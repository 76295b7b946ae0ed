"""Benchmarks for wenxing; see bench/README.md for how to run each one."""
