"""Benchmarks run by `make bench`, outside the test suite. `transforms` is imported before
anything loads polars, so a benchmark's process sets its allocators as the pipeline's own
processes do (see `transforms.memory`)."""

import transforms  # noqa: F401
