"""Benchmarks run by `make bench`, outside the test suite."""
