"""Model time: years since the scenario start, and its link to calendar dates.

Model time ``t`` is measured in years from the scenario's ``start`` date, with a year of
exactly :data:`DAYS_PER_YEAR` days. A calendar date ``d`` is the instant ``t(d) =
(d - start).days / 365.25``; a model time is shown as the calendar date on which it falls,
``start + floor(t * 365.25)`` days.
"""

from __future__ import annotations

import datetime as dt
import math

__all__ = ["DAYS_PER_YEAR", "Timeline"]

DAYS_PER_YEAR = 365.25


class Timeline:
    """Map calendar dates to model years and back for one scenario.

    Parameters
    ----------
    start, horizon
        The first and last day of the simulated window; ``horizon > start``.
    """

    __slots__ = ("horizon", "start")

    def __init__(self, start: dt.date, horizon: dt.date) -> None:
        self.start = start
        self.horizon = horizon

    @property
    def t_horizon(self) -> float:
        """Model time of the horizon, in years."""
        return self.years(self.horizon)

    def years(self, day: dt.date) -> float:
        """Model time (years since start) of a calendar date."""
        return (day - self.start).days / DAYS_PER_YEAR

    def date(self, t: float) -> dt.date:
        """The calendar date on which model time ``t`` falls."""
        return self.start + dt.timedelta(days=math.floor(t * DAYS_PER_YEAR + 1e-9))

    def year_ends(self) -> list[dt.date]:
        """Every 31 December strictly after start and up to the horizon, then the horizon."""
        out = [
            dt.date(y, 12, 31)
            for y in range(self.start.year, self.horizon.year + 1)
            if self.start < dt.date(y, 12, 31) <= self.horizon
        ]
        if not out or out[-1] != self.horizon:
            out.append(self.horizon)
        return out

    def __repr__(self) -> str:
        return f"Timeline(start={self.start.isoformat()}, horizon={self.horizon.isoformat()})"
