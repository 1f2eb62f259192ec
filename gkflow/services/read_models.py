"""The typed shapes the services answer with: a case, its timeline and warnings, an item, a worklist
row. The CLI prints them with ``model_dump(mode="json", by_alias=True)`` and the JSON API declares
them as response models, so both show the same fields (DESIGN.md section 6)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class LimitView(_Model):
    days: int
    unit: Literal["working", "calendar"]


class CaseWarning(_Model):
    """A red or yellow card on one of the case's two limits (法定 / 承诺)."""

    scope: Literal["statutory", "promised"]
    level: Literal["yellow", "red"]
    due: str | None
    days_left: int | None = Field(description="working or calendar days left; negative when overdue")


class StepWarning(_Model):
    """A red card on the current step's own limit."""

    scope: Literal["step"]
    level: Literal["red"]
    due: str | None
    state: str


class ApplicantView(_Model):
    """The applicant, masked (王** · 139****5678)."""

    name: str
    phone: str | None
    id_number: str | None


class FieldView(_Model):
    """A form field and what it accepts (the submission's or a step's)."""

    name: str
    label: str
    required: bool
    type: Literal["text", "multiline", "choice", "date", "number", "phone", "email", "id_number", "file",
                  "materials"] = Field(description="materials: some of the item's declared materials")
    max_length: int | None = Field(description="the most characters a value may have")
    options: list[str] = Field(description="a choice's options")
    internal: bool = Field(description="staff only: the applicant never sees the value")


class ActionView(_Model):
    """A transition the case's current state allows, and who may fire it."""

    name: str
    label: str
    roles: list[str]
    fields: list[FieldView]


class TimelineEntry(_Model):
    """One event of the case's history (办理记录)."""

    seq: int
    action: str
    label: str
    from_state: str | None = Field(alias="from")
    to: str
    to_label: str
    actor: str
    role: str
    at: str | None
    comment: str | None = Field(description="internal note (内部意见); null in the applicant's view")
    public_note: str | None = Field(default=None, description="the note to the applicant (对申请人说明)")
    fields: dict[str, str]
    # A back-dated step (补录): entered later than it happened, with the reason (staff only).
    backdated: bool = False
    recorded_at: str | None = None
    backdate_reason: str | None = None


class CaseSummary(_Model):
    """A case without its history: state, version, due dates, clock, warnings, masked applicant."""

    case_no: str
    item: str
    item_name: str
    item_version: int
    department: str
    assigned_department: str | None
    state: str
    state_label: str
    final: bool
    version: int
    received_at: str | None
    statutory_due: str | None = Field(description="YYYY-MM-DD; null while the clock is stopped")
    statutory_due_provisional: bool
    promised_due: str | None
    promised_due_provisional: bool
    statutory_limit: LimitView
    promised_limit: LimitView
    extended: bool
    clock: Literal["running", "stopped"]
    step_due: str | None
    closed_at: str | None
    warnings: list[CaseWarning | StepWarning]
    applicant: ApplicantView


class StaffCase(CaseSummary):
    """A case as staff see it: with the actions its state allows."""

    allowed_actions: list[ActionView]


class SubmittedCase(StaffCase):
    """A case just registered, with its query code (shown this once; only its hash is stored)."""

    query_code: str


class CaseView(StaffCase):
    """A case with its whole history (`gkflow case show`, the staff case page and API)."""

    timeline: list[TimelineEntry]


class PublicCase(CaseSummary):
    """The applicant's view: masked, staff shown only as 工作人员, fields limited to what steps declare."""

    timeline: list[TimelineEntry]


class PublicSubmission(PublicCase):
    """An online submission's answer, with its query code (shown this once)."""

    query_code: str


class ItemSummary(_Model):
    code: str
    name: str
    version: int


class MaterialView(_Model):
    name: str
    required: bool
    note: str | None


class StateView(_Model):
    name: str
    label: str
    final: bool
    stops_clock: bool


class TransitionView(_Model):
    name: str
    label: str
    from_states: list[str] = Field(alias="from")
    to: str
    roles: list[str]
    fields: list[str]
    field_specs: list[FieldView] = Field(description="the fields with their types")
    clock: Literal["stop", "resume", "restart", "extend"] | None
    extend_days: int | None
    notices: list[str]
    triggers: list[str]


class ItemDetail(ItemSummary):
    """One version of a service item: basis, department, limits, materials, states, transitions."""

    effective_from: str
    area: str
    description: str
    online: bool = Field(description="may be applied for online (POST /api/cases)")
    submit_fields: list[FieldView] = Field(description="what a submission's `fields` holds")
    department: str
    basis: list[str]
    fee: str
    channels: list[str]
    notice_channels: list[str]
    statutory_limit: LimitView
    promised_limit: LimitView
    materials: list[MaterialView]
    initial_state: str
    states: list[StateView]
    transitions: list[TransitionView]


class CaseListEntry(_Model):
    """One case in a search or worklist page: masked applicant, deadline colour, or how it ended."""

    case_no: str
    item: str
    item_name: str
    state: str
    state_label: str
    version: int
    department: str
    assigned_department: str | None
    applicant: str = Field(description="masked name (王**)")
    applicant_phone: str | None = Field(description="masked (139****5678)")
    received_at: str | None
    promised_due: str | None
    statutory_due: str | None
    clock: Literal["running", "stopped"]
    days_left: int | None = Field(description="promised limit; in days_unit; negative when overdue")
    days_unit: Literal["working", "calendar"]
    colour: Literal["red", "yellow"] | None
    warnings: list[CaseWarning | StepWarning]
    final: bool
    closed_at: str | None
    on_time: bool | None = Field(description="completed by the promised date (null while open)")


class TabCounts(_Model):
    """How many cases each worklist tab holds with the same search and filters; a count above
    ``capped_at`` is reported as ``capped_at + 1`` (shown as "10000+")."""

    all: int
    open: int
    week: int = Field(description="open, promised date within the next 7 days")
    overdue: int = Field(description="open, promised date passed")
    completed: int
    capped_at: int


class CasePage(_Model):
    """One page of a case search: the rows, the cursor of the next page (null at the end), counts."""

    items: list[CaseListEntry]
    next_cursor: str | None
    counts: TabCounts
class DatabaseHealth(_Model):
    ok: bool
    dialect: str
    error: str | None = Field(default=None, description="why the database did not answer")


class LeaderView(_Model):
    """The process running the embedded scheduler, as its row in the database says."""

    holder: str = Field(description="host:pid")
    elected_at: str
    heartbeat_age_s: float


class SchedulerHealth(_Model):
    embedded: bool = Field(description="this process takes part in electing the embedded scheduler")
    this_process_leads: bool
    leader: LeaderView | None = Field(description="null: no process has beaten its heart lately")


class OutboxHealth(_Model):
    due: int = Field(description="notices that could be sent now")
    lag_s: float = Field(description="how long the oldest of them has been due (0 when none)")


class HealthReport(_Model):
    """`GET /healthz`: 200 while the database answers (status ok or degraded), else 503 (down)."""

    ok: bool
    status: Literal["ok", "degraded", "down"]
    problems: list[str]
    database: DatabaseHealth
    scheduler: SchedulerHealth | None
    outbox: OutboxHealth | None
