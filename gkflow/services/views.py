"""Read models: a case as the CLI and API show it, with its timeline and live warnings; an item."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from gkflow.db import case_rows
from gkflow.db.case_rows import clocks_from_row
from gkflow.domain.calendar import DueDate
from gkflow.domain.cases import Actor
from gkflow.domain.deadlines import days_left, warning_level
from gkflow.domain.errors import CorruptRecord, NotFound
from gkflow.domain.fields import length_limit
from gkflow.domain.identifiers import query_code_matches
from gkflow.domain.items import FieldSpec, ItemVersion
from gkflow.domain.masking import mask_id_number, mask_name, mask_phone
from gkflow.runtime import Runtime
from gkflow.services.accounts import Account
from gkflow.services.read_models import (
    ActionView,
    ApplicantView,
    CaseView,
    CaseWarning,
    FieldView,
    ItemDetail,
    ItemSummary,
    LimitView,
    MaterialView,
    PublicCase,
    StaffCase,
    StateView,
    StepWarning,
    SubmittedCase,
    TimelineEntry,
    TransitionView,
)

# Who acts for the applicant: the applicant, or a partner platform submitting for them.
APPLICANT_SIDE_ROLES = frozenset({"applicant", "partner"})

# One "not found" for a wrong number and a wrong code alike, so case numbers cannot be probed.
PUBLIC_NOT_FOUND = (
    "未找到该办件，请核对办件编号和查询码 (case not found: check the case number and query code)"
)


def _iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def local_iso(rt: Runtime, at: datetime | None) -> str | None:
    """An instant as ISO 8601 in the local zone (Asia/Shanghai), to the second."""
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(rt.settings.tz).isoformat(timespec="seconds")


def load_case_row(rt: Runtime, case_no: str) -> dict[str, Any]:
    """Every column of one case; NotFound if there is none."""
    with rt.read_engine.connect() as conn:
        return case_rows.read_case(conn, case_no)


def load_case_and_events(rt: Runtime, case_no: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A case and its events in order, read in one statement; NotFound if there is no such case."""
    with rt.read_engine.connect() as conn:
        return case_rows.read_case_and_events(conn, case_no)


def load_events(rt: Runtime, case_id: int) -> list[dict[str, Any]]:
    """A case's events in order."""
    with rt.engine.connect() as conn:
        return case_rows.event_rows(conn, case_id)


def live_warnings(rt: Runtime, row: Mapping[str, Any], today: date) -> list[CaseWarning | StepWarning]:
    """The cards a case shows today: yellow/red on either limit, red on an overdue step."""
    if row["closed_at"] is not None:
        return []
    item = rt.item(row["item_code"], row["item_version"])
    calendar = rt.calendar
    clocks = clocks_from_row(item, row)
    share = item.yellow_share or rt.settings.yellow_share
    warnings: list[CaseWarning | StepWarning] = []
    for scope, clock in (("statutory", clocks.statutory), ("promised", clocks.promised)):
        due_date = row[f"{scope}_due"]
        due = DueDate(due_date, row[f"{scope}_due_provisional"]) if due_date else None
        level = warning_level(clock, due, today, calendar, share)
        if level:
            warnings.append(CaseWarning(scope=scope, level=level, due=_iso_date(due_date),
                                        days_left=days_left(clock, due, today, calendar)))
    if row["step_due"] and today > row["step_due"]:
        warnings.append(StepWarning(scope="step", level="red", due=_iso_date(row["step_due"]),
                                    state=row["state"]))
    return warnings


def case_item(rt: Runtime, row: Mapping[str, Any]) -> ItemVersion:
    """The item version of a case row, checked against the row: an edited row is a CorruptRecord
    naming the case and the field, never a KeyError further down."""
    case_no = row.get("case_no", "?")
    try:
        item = rt.item(row["item_code"], row["item_version"])
    except NotFound:
        raise CorruptRecord(f"case {case_no}: item_code/item_version name no loaded item version "
                            f"({row['item_code']!r} v{row['item_version']}); run `gkflow audit verify`",
                            case_no=case_no, field="item_version") from None
    if row["state"] not in item.states:
        raise CorruptRecord(f"case {case_no}: its state {row['state']!r} is not a state of {item.code} "
                            f"v{item.version}; run `gkflow audit verify`", case_no=case_no, field="state")
    return item


def _summary_fields(rt: Runtime, item: ItemVersion, row: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return _summary(rt, item, row)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptRecord(f"case {row.get('case_no', '?')}: its stored row cannot be read "
                            f"({type(exc).__name__}: {exc}); run `gkflow audit verify`",
                            case_no=row.get("case_no")) from None


def _summary(rt: Runtime, item: ItemVersion, row: Mapping[str, Any]) -> dict[str, Any]:
    today = rt.local_date(rt.now())
    return {
        "case_no": row["case_no"],
        "item": row["item_code"],
        "item_name": item.name,
        "item_version": row["item_version"],
        "department": row["department"],
        "assigned_department": row["assigned_department"],
        "state": row["state"],
        "state_label": item.states[row["state"]].label,
        "final": item.is_final(row["state"]),
        "version": row["version"],
        "received_at": local_iso(rt, row["received_at"]),
        "statutory_due": _iso_date(row["statutory_due"]),
        "statutory_due_provisional": bool(row["statutory_due_provisional"]),
        "promised_due": _iso_date(row["promised_due"]),
        "promised_due_provisional": bool(row["promised_due_provisional"]),
        "statutory_limit": LimitView(days=row["statutory_days"], unit=item.statutory_limit.unit.value),
        "promised_limit": LimitView(days=row["promised_days"], unit=item.promised_limit.unit.value),
        "extended": bool(row["extended"]),
        "clock": "running" if row["clock_running"] else "stopped",
        "step_due": _iso_date(row["step_due"]),
        "closed_at": local_iso(rt, row["closed_at"]),
        "warnings": live_warnings(rt, row, today),
        "applicant": ApplicantView(
            name=mask_name(row["applicant_name"]),
            phone=mask_phone(row["applicant_phone"]),
            id_number=mask_id_number(row["applicant_id_number"]),
        ),
    }


def field_view(spec: FieldSpec) -> FieldView:
    """A declared field as the API describes it."""
    return FieldView(name=spec.name, label=spec.label, required=spec.required, type=spec.type.value,
                     max_length=length_limit(spec), options=list(spec.options), internal=spec.internal)


# An item version never changes once loaded, so the actions of each of its states are built once.
# Keyed by the object (kept alive in the value, so its id cannot be reused): two runtimes may load
# different definitions under the same code and version.
_ACTIONS: dict[tuple[int, str], tuple[ItemVersion, tuple[ActionView, ...]]] = {}


def _allowed_actions(item: ItemVersion, state: str) -> list[ActionView]:
    cached = _ACTIONS.get((id(item), state))
    if cached is None or cached[0] is not item:
        cached = _ACTIONS[(id(item), state)] = (item, tuple(
            ActionView(name=t.name, label=t.label, roles=list(t.roles),
                       fields=[field_view(f) for f in t.fields])
            for t in item.transitions_from(state)
        ))
    return list(cached[1])


def staff_case(rt: Runtime, row: Mapping[str, Any]) -> StaffCase:
    """A case row as staff see it, without its history."""
    item = case_item(rt, row)
    return StaffCase(**_summary_fields(rt, item, row), allowed_actions=_allowed_actions(item, row["state"]))


def case_view(rt: Runtime, row: Mapping[str, Any], *,
              events: list[dict[str, Any]] | None = None) -> CaseView:
    """A case row with its actions and whole history (the events are read if not given)."""
    item = case_item(rt, row)
    if events is None:
        events = load_events(rt, row["id"])
    return CaseView(**_summary_fields(rt, item, row), allowed_actions=_allowed_actions(item, row["state"]),
                    timeline=[timeline_entry(rt, item, ev) for ev in events])


def timeline_entry(rt: Runtime, item: ItemVersion, ev: Mapping[str, Any], *,
                   public: bool = False) -> TimelineEntry:
    """One event as the history shows it, with the labels of its action and target state; for the
    applicant (``public``) staff appear only as 工作人员, fields only as the step declares them, and
    no comment or back-dating reason (comments are internal, including every one written before
    notes were split)."""
    transition = item.transitions.get(ev["action"])
    fields = json.loads(ev["fields"] or "{}")
    actor, comment, backdate_reason = ev["actor"], ev["comment"], ev.get("backdate_reason")
    if public:
        actor = "申请人" if ev["role"] in APPLICANT_SIDE_ROLES else "工作人员"
        fields = _public_fields(item, ev["action"], fields)
        comment = None
    return TimelineEntry(
        seq=ev["seq"],
        action=ev["action"],
        label=transition.label if transition else _SYSTEM_ACTION_LABELS.get(ev["action"], ev["action"]),
        from_state=ev["from_state"],
        to=ev["to_state"],
        to_label=item.states[ev["to_state"]].label if ev["to_state"] in item.states else ev["to_state"],
        actor=actor,
        role=ev["role"],
        at=local_iso(rt, ev["at"]),
        comment=comment,
        public_note=ev.get("public_note"),
        fields=fields,
        backdated=backdate_reason is not None,
        recorded_at=local_iso(rt, ev.get("recorded_at")),
        backdate_reason=None if public else backdate_reason,
    )


_SYSTEM_ACTION_LABELS = {
    "submit": "提交申请",
    "due_date_recomputed": "期限按节假日安排重新计算",
    "warning_yellow": "黄牌预警",
    "warning_red": "红牌预警",
    "rated": "评价",
    "materials_added": "提交材料（在线）",
    "query_code_reset": "重新设置查询码",
    "query_code_reissued": "重置查询码",
}


def case_actor(rt: Runtime, account: Account, case_no: str, action: str) -> Actor:
    """The actor ``account`` fires ``action`` as: the first of its roles the transition allows (the
    engine then checks role and department)."""
    with rt.read_engine.connect() as conn:
        item_code, item_version = case_rows.item_of_case(conn, case_no)
    transition = rt.item(item_code, item_version).transitions.get(action)
    return account.actor_for(transition.roles if transition else ())


def show_case(rt: Runtime, case_no: str) -> CaseView:
    """A case with its actions and history; NotFound if there is none."""
    row, events = load_case_and_events(rt, case_no)
    return case_view(rt, row, events=events)


def submitted_case(rt: Runtime, case_no: str, query_code: str) -> SubmittedCase:
    """A case just registered, with the query code to hand over once."""
    case = staff_case(rt, load_case_row(rt, case_no))
    return SubmittedCase(**dict(case), query_code=query_code)


def public_case(rt: Runtime, case_no: str, query_code: str | None) -> PublicCase:
    """The applicant's view: needs the query code (None: the caller checked a look-up pass); masked;
    no staff names, no internal comments or fields."""
    try:
        row, events = load_case_and_events(rt, case_no)
    except NotFound:
        raise NotFound(PUBLIC_NOT_FOUND) from None
    if query_code is not None and (
            not query_code or not query_code_matches(case_no, query_code, row["query_hash"])):
        raise NotFound(PUBLIC_NOT_FOUND)
    try:
        item = case_item(rt, row)
        summary = _summary_fields(rt, item, row)
    except CorruptRecord:
        # The public gets no internal detail; staff see it on the case page and in `audit verify`.
        raise CorruptRecord("该办件的记录暂时无法显示，请联系办理窗口 (this case cannot be shown now)") \
            from None
    timeline = [timeline_entry(rt, item, ev, public=True) for ev in events]
    return PublicCase(**summary, timeline=timeline)


# System events whose fields are meant for the applicant (a rating, moved due dates).
_PUBLIC_SYSTEM_FIELDS: dict[str, tuple[str, ...] | None] = {"rated": ("level", "label"),
                                                             "due_date_recomputed": None}


def _public_fields(item: ItemVersion, action: str, fields: dict[str, str]) -> dict[str, str]:
    """Only what a step declares for its form: the submission's free text may name third parties
    (a complaint's respondent, a neighbour's phone) and warnings are internal."""
    transition = item.transitions.get(action)
    if transition is not None:
        declared = {f.name for f in transition.fields if not f.internal}
        return {k: v for k, v in fields.items() if k in declared}
    if action in _PUBLIC_SYSTEM_FIELDS:
        allowed = _PUBLIC_SYSTEM_FIELDS[action]
        return dict(fields) if allowed is None else {k: v for k, v in fields.items() if k in allowed}
    return {}


# -- items ----------------------------------------------------------------------------------------


def item_summary(item: ItemVersion) -> ItemSummary:
    """An item in a list: code, name, version."""
    return ItemSummary(code=item.code, name=item.name, version=item.version)


def item_detail(item: ItemVersion) -> ItemDetail:
    """One item version: limits, materials, states and transitions (DESIGN.md section 6)."""
    return ItemDetail(
        code=item.code, name=item.name, version=item.version,
        effective_from=item.effective_from.isoformat(), area=item.area, description=item.description,
        online=item.online, submit_fields=[field_view(f) for f in item.submit_fields],
        department=item.department, basis=list(item.basis), fee=item.fee,
        channels=list(item.channels), notice_channels=list(item.notice_channels),
        statutory_limit=LimitView(days=item.statutory_limit.days, unit=item.statutory_limit.unit.value),
        promised_limit=LimitView(days=item.promised_limit.days, unit=item.promised_limit.unit.value),
        materials=[MaterialView(name=m.name, required=m.required, note=m.note) for m in item.materials],
        initial_state=item.initial_state,
        states=[StateView(name=s.name, label=s.label, final=s.final, stops_clock=s.stops_clock)
                for s in item.states.values()],
        transitions=[
            TransitionView(name=t.name, label=t.label, from_states=list(t.sources), to=t.target,
                           roles=list(t.roles), fields=[f.name for f in t.fields],
                           field_specs=[field_view(f) for f in t.fields],
                           clock=t.clock.value if t.clock else None, extend_days=t.extend_days,
                           notices=list(t.notices), triggers=list(t.triggers))
            for t in item.transitions.values()
        ],
    )
