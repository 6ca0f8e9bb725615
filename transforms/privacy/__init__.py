"""Disclosure control, in one place: every published figure passes through `protect`, once, last."""

from transforms.privacy.engine import AuditFailure, ProtectedRelease, protect
from transforms.privacy.policy import Policy, lowerings, resolve
from transforms.privacy.tables import BY_REGION, BY_TRAINING_DAY, NATIONAL, OUTCOME_TABLES, Table

__all__ = [
    "BY_REGION",
    "BY_TRAINING_DAY",
    "NATIONAL",
    "OUTCOME_TABLES",
    "AuditFailure",
    "Policy",
    "ProtectedRelease",
    "Table",
    "lowerings",
    "protect",
    "resolve",
]
