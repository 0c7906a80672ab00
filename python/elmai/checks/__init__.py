"""ELM-style checks: per-column mass balance (dynamic) and restart validation (static)."""

from elmai.checks.balance import (
    BalanceFailure,
    BalanceReport,
    balance_errors,
    check_balance,
    check_water_balance,
)
from elmai.checks.restart_check import CheckFailure, RestartCheckReport, check_restart

__all__ = [
    "BalanceFailure",
    "BalanceReport",
    "CheckFailure",
    "RestartCheckReport",
    "balance_errors",
    "check_balance",
    "check_restart",
    "check_water_balance",
]
