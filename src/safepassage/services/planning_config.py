"""The settings the operation plans by.

Priority weights, lead times, call-forward windows, the no-show rate to assume, and each
station's capacity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safepassage.domain.access import Action, Principal
from safepassage.domain.errors import FieldError, InvalidInput, NotFound, check
from safepassage.planning.problem import PriorityWeights
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.planning_snapshot import Leads


@dataclass(frozen=True)
class PlanningConfig:
    """The settings a coordinator plans by; the defaults hold until one is changed."""

    weights: PriorityWeights = field(default_factory=PriorityWeights)
    leads: Leads = field(default_factory=Leads)
    window_minutes: int = 60
    """How long a household's call-forward window is open."""
    through_minutes: int = 90
    """From the gate to the end of the last station, for a household called forward."""
    no_show_rate: float = 0.10
    """Used until enough people have been called to measure it."""

    def as_json(self) -> dict[str, Any]:
        """The settings as they are stored and as the API shows them, times in minutes."""
        return {
            "categories": dict(self.weights.categories),
            "needs": dict(self.weights.needs),
            "lead_registered_minutes": self.leads.registered // dt.timedelta(minutes=1),
            "lead_called_minutes": self.leads.called // dt.timedelta(minutes=1),
            "lead_processing_minutes": self.leads.processing // dt.timedelta(minutes=1),
            "window_minutes": self.window_minutes,
            "through_minutes": self.through_minutes,
            "no_show_rate": self.no_show_rate,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanningConfig:
        """Settings from a form or the API; every problem named, in one error."""
        base = cls()
        errors: list[FieldError] = []
        known = set(base.as_json())
        errors.extend(FieldError(k, f"unknown setting {k!r}") for k in data if k not in known)

        def number(name: str, low: float, high: float, default: float) -> float:
            value = data.get(name, default)
            try:
                number = float(value)
            except (TypeError, ValueError):
                errors.append(FieldError(name, f"{value!r} is not a number"))
                return default
            if not low <= number <= high:
                errors.append(FieldError(name, f"between {low:g} and {high:g}"))
                return default
            return number

        minutes = {
            k: int(number(k, 0, 48 * 60, v))
            for k, v in base.as_json().items()
            if k.endswith("_minutes")
        }
        rate = number("no_show_rate", 0, 0.9, base.no_show_rate)
        weights = base.weights
        try:
            weights = PriorityWeights(
                {
                    **base.weights.categories,
                    **_floats(data.get("categories", {}), "categories", errors),
                },
                {**base.weights.needs, **_floats(data.get("needs", {}), "needs", errors)},
            )
        except InvalidInput as e:
            errors.extend(e.errors)
        if minutes["window_minutes"] < 15:
            errors.append(
                FieldError("window_minutes", "a call-forward window of 15 minutes at least")
            )
        check(errors)
        return cls(
            weights,
            Leads(
                dt.timedelta(minutes=minutes["lead_registered_minutes"]),
                dt.timedelta(minutes=minutes["lead_called_minutes"]),
                dt.timedelta(minutes=minutes["lead_processing_minutes"]),
            ),
            minutes["window_minutes"],
            minutes["through_minutes"],
            rate,
        )


def _floats(table: Any, name: str, errors: list[FieldError]) -> dict[str, float]:
    if not isinstance(table, Mapping):
        errors.append(FieldError(name, "give each weight by name"))
        return {}
    out = {}
    for k, v in table.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            errors.append(FieldError(name, f"the weight of {k} is not a number: {v!r}"))
    return out


def config(uow: UnitOfWork) -> PlanningConfig:
    """The settings in force: those stored, or the defaults until a coordinator sets them."""
    stored = uow.planning.settings().get("planning")
    return PlanningConfig.from_json(stored) if stored else PlanningConfig()


def get_config(who: Principal, uow: UnitOfWork) -> PlanningConfig:
    """The settings in force, for anyone who may see the plan."""
    with uow:
        demand(uow, who, Action.PLAN_VIEW, "plan_setting")
        return config(uow)


def update_config(data: Mapping[str, Any], who: Principal, uow: UnitOfWork) -> PlanningConfig:
    """Change the settings named in ``data``; the others stay as they are.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        InvalidInput: naming every setting that is unknown or out of its range.
    """
    with uow:
        demand(uow, who, Action.PLAN_SETTINGS, "plan_setting")
        old = config(uow)
        stored = old.as_json()
        merged = {**stored, **data}
        for table in ("categories", "needs"):
            if isinstance(data.get(table), Mapping):
                merged[table] = {**stored[table], **data[table]}
        new = PlanningConfig.from_json(merged)
        uow.planning.put_setting("planning", new.as_json(), who.username, uow.now())
        changed = {
            k: [old.as_json()[k], v] for k, v in new.as_json().items() if old.as_json()[k] != v
        }
        audit(uow, who, "plan.settings", "plan_setting", "planning", changes=changed)
        uow.commit()
        return new


def set_station_capacity(
    station_id: int, per_hour: int | None, who: Principal, uow: UnitOfWork
) -> None:
    """How many persons an hour a station takes: what the call-forward waves are timed by.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator, whatever the figure.
        InvalidInput: for a figure outside 1 to 10,000 (``None`` clears it).
        NotFound: for a station that does not exist.
    """
    with uow:
        demand(uow, who, Action.STATIONS_CONFIGURE, "station", station_id)
        if per_hour is not None and not 1 <= per_hour <= 10_000:
            raise InvalidInput(
                "persons an hour: between 1 and 10,000, or empty", "capacity_per_hour"
            )
        if not uow.planning.set_station_capacity(station_id, per_hour):
            raise NotFound(f"there is no station {station_id}")
        audit(uow, who, "station.capacity", "station", station_id, per_hour=per_hour)
        uow.commit()
