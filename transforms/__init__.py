"""The pipeline's steps as plain functions. Allocators are set first, before any step loads
polars (see `transforms.memory`)."""

from transforms.memory import bound_allocators

bound_allocators()
