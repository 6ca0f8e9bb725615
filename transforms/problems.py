"""What is wrong with a region's file, said so the region can find and fix it."""

from __future__ import annotations

from dataclasses import dataclass

MAX_FOUND_CHARS = 40


@dataclass(frozen=True, order=True)
class Problem:
    """One fault: where it is (row and column as the region sees them in their tool), what was
    found and what is allowed. `row` is None for a fault of the whole file or a whole column."""

    row: int | None
    column: str | None
    found: str
    allowed: str

    def describe(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        place = ", ".join(where) if where else "file"
        return f"{place}: found {self.found}; {self.allowed}"


def quoted(value: str | None) -> str:
    """A cell value as a region reads it in its own report, cut short."""
    if value is None or value.strip() == "":
        return "a blank cell"
    if len(value) > MAX_FOUND_CHARS:
        value = value[: MAX_FOUND_CHARS - 1] + "…"
    return repr(value)


class FileRejected(Exception):
    """Raised by a reader or validator: the file cannot be ingested, for these reasons."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = sorted(problems, key=lambda p: (p.row or 0, p.column or "", p.found))
