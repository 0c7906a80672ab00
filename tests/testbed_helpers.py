"""Stepping the testbed with ELM's balance check on every month (for the dynamics tests)."""

from __future__ import annotations

import elmai
from elmai.apps.testbed.climate import DAYS_IN_MONTH, Climate
from elmai.apps.testbed.dynamics import Model, State


def advance_checked(
    model: Model, climate: Climate, state: State, first_year: int, years: int
) -> dict[str, float]:
    """Like Model.advance, asserting that the C, N and P balance check passes for every column
    and month; returns the worst |error| per element."""
    worst = {"C": 0.0, "N": 0.0, "P": 0.0}
    for year in range(first_year, first_year + years):
        for month in range(12):
            dt = DAYS_IN_MONTH[month] * 86400.0
            before = model.totals(state)
            fluxes = model.step(state, climate.month(year, month), dt)
            after = model.totals(state)
            for element, (ins, outs) in fluxes.balance_terms().items():
                report = elmai.check_balance(before[element], after[element], ins, outs, dt, element=element)
                assert report.ok, report.table()
                worst[element] = max(worst[element], report.max_abs_error)
    return worst
