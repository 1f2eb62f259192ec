"""Service-item definitions (政务服务事项): pure data, validated by the catalogue loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from gkflow.domain.fields import FieldType


class LimitUnit(StrEnum):
    WORKING = "working"  # 工作日
    CALENDAR = "calendar"  # 自然日


class ClockEffect(StrEnum):
    STOP = "stop"  # 时限中止: paused time does not count
    RESUME = "resume"  # counting continues where it stopped
    RESTART = "restart"  # the period counts anew (e.g. corrected application received)
    EXTEND = "extend"  # 延期: adds days to the limit, once per case


@dataclass(frozen=True)
class Limit:
    days: int
    unit: LimitUnit

    def to_dict(self) -> dict[str, object]:
        return {"days": self.days, "unit": self.unit.value}

    def describe(self) -> str:
        """In words: "15个工作日", "7个自然日", or "即办" for a limit of 0 (an on-the-spot item)."""
        if self.days == 0:
            return "即办"
        return f"{self.days}个{'工作日' if self.unit is LimitUnit.WORKING else '自然日'}"


@dataclass(frozen=True)
class FieldSpec:
    """A form field of a submission or a step: its type, and whether the applicant may see its value."""

    name: str
    label: str
    required: bool = True
    type: FieldType = FieldType.TEXT
    max_length: int | None = None  # None: the type's default (gkflow.domain.fields.DEFAULT_MAX_LENGTH)
    options: tuple[str, ...] = ()  # a choice's options, in the order shown
    internal: bool = False  # staff only: never shown on the status page (a third party, inspectors)
    typed: bool = True  # False for fields of versions written before types were declared


@dataclass(frozen=True)
class State:
    name: str
    label: str
    final: bool = False
    stops_clock: bool = False
    step_limit: Limit | None = None  # a per-step limit (e.g. ask for correction within 7 days)


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    fields: tuple[FieldSpec, ...] = ()
    clock: ClockEffect | None = None
    extend_days: int | None = None
    notices: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()

    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


@dataclass(frozen=True)
class Material:
    name: str
    required: bool = True
    note: str | None = None


@dataclass(frozen=True)
class ItemVersion:
    code: str
    name: str
    version: int
    effective_from: date
    area: str
    basis: tuple[str, ...]
    department: str
    statutory_limit: Limit
    promised_limit: Limit
    initial_state: str
    states: dict[str, State]
    transitions: dict[str, Transition]
    materials: tuple[Material, ...] = ()
    fee: str = "不收费"
    channels: tuple[str, ...] = ()  # 办理渠道: window, online, post, hotline …
    notice_channels: tuple[str, ...] = ("sms",)  # how applicants are told (通知渠道)
    submit_notices: tuple[str, ...] = ("accepted",)
    submit_fields: tuple[FieldSpec, ...] = ()
    description: str = ""  # 办理内容 / 申请条件, shown in the guide (办事指南)
    yellow_share: float | None = None
    source: str = ""  # file the version was loaded from, for error messages
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def online(self) -> bool:
        """Whether the item may be applied for online (网上申请)."""
        return "online" in self.channels

    @property
    def material_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.materials)

    def transitions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]

    def is_final(self, state: str) -> bool:
        return self.states[state].final
