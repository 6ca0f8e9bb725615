"""Named disclosure-control policies, as the field applies them, and explicit overrides on top.

| preset      | min_cell | rounding | zeros/100% | source                                         |
|-------------|----------|----------|------------|------------------------------------------------|
| gmc-sdc     | 3        | none     | shown      | GMC National Training Survey; SDC Handbook     |
| opensafely  | 8        | to 5     | protected  | OpenSAFELY: redact <= 7, then round to 5       |
| acro        | 10       | none     | protected  | ACRO's default threshold (10), zeros disclosive |

`protection` is the narrowest interval an attacker may reach for a withheld count: by default
`min_cell - 1`, so an attacker can never tell a withheld count apart from its neighbours
closer than the threshold itself."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_POLICY = "gmc-sdc"


@dataclass(frozen=True)
class Policy:
    name: str
    min_cell: int
    protection: int
    protect_zeros: bool
    rounding: int

    @property
    def risky_low(self) -> int:
        """Smallest count the rule protects: 0 when zeros and 100% are protected."""
        return 0 if self.protect_zeros else 1

    def is_risky(self, count: int, group: int) -> bool:
        """A count (of a non-empty group) that the primary rule protects."""
        return group > 0 and self.min_cell > 1 and self.risky_low <= count <= self.min_cell - 1

    def describe(self) -> str:
        zeros = "protected" if self.protect_zeros else "shown"
        rounding = f"to {self.rounding}" if self.rounding > 1 else "none"
        return (
            f"{self.name}: min_cell {self.min_cell}, protection {self.protection}, "
            f"zeros/100% {zeros}, rounding {rounding}"
        )


PRESETS: dict[str, dict[str, int | bool]] = {
    "gmc-sdc": {"min_cell": 3, "protect_zeros": False, "rounding": 1},
    "opensafely": {"min_cell": 8, "protect_zeros": True, "rounding": 5},
    "acro": {"min_cell": 10, "protect_zeros": True, "rounding": 1},
}


def resolve(
    name: str = DEFAULT_POLICY,
    *,
    min_cell: int | None = None,
    protection: int | None = None,
    protect_zeros: bool | None = None,
    rounding: int | None = None,
) -> Policy:
    """A preset with any explicit overrides applied."""
    preset = PRESETS[name]
    cell = int(preset["min_cell"]) if min_cell is None else min_cell
    return Policy(
        name=name,
        min_cell=cell,
        protection=max(cell - 1, 0) if protection is None else protection,
        protect_zeros=bool(preset["protect_zeros"]) if protect_zeros is None else protect_zeros,
        rounding=int(preset["rounding"]) if rounding is None else rounding,
    )


def lowerings(policy: Policy) -> list[str]:
    """Every way `policy` protects less than the default or its own preset; each run logs them."""
    default, preset = resolve(), resolve(policy.name)
    found = []
    if policy.min_cell < default.min_cell:
        found.append(f"min_cell = {policy.min_cell} is below the default of {default.min_cell}")
    if policy.protection < policy.min_cell - 1:
        found.append(
            f"protection = {policy.protection} is below min_cell - 1 = {policy.min_cell - 1}"
        )
    if preset.protect_zeros and not policy.protect_zeros:
        found.append(f"zeros and 100% are shown, which the {policy.name} preset protects")
    if policy.rounding < preset.rounding:
        found.append(f"rounding to {policy.rounding} is below the {policy.name} preset's")
    if policy.min_cell < preset.min_cell and preset.min_cell > default.min_cell:
        found.append(f"min_cell = {policy.min_cell} is below the {policy.name} preset's")
    return found
