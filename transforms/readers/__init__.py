"""Readers of survey tools' exports: `grid` (bytes to text cells), `tools` (header rows)."""
