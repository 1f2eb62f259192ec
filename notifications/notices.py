"""The notice vocabulary and the context keys each notice needs (see README.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

APPLICANT_NOTICES: tuple[str, ...] = (
    "accepted",
    "correction_requested",
    "correction_received",
    "decided",
    "certificate_ready",
    "delivered",
    "extended",
    "due_date_changed",
    "rating_invitation",
)
STAFF_NOTICES: tuple[str, ...] = ("warning_yellow", "warning_red")
DEPARTMENT_NOTICES: tuple[str, ...] = ("publication_done", "publication_failed")
NOTICES: tuple[str, ...] = APPLICANT_NOTICES + STAFF_NOTICES + DEPARTMENT_NOTICES
# Messages the applicant asked for just now (a one-time code, a reset query code): never held by
# quiet hours, and only on the channels that have templates for them (sms; e-mail for the reset).
SECURITY_NOTICES: tuple[str, ...] = ("verification_code", "query_code_reset")
VERIFICATION_KEYS: tuple[str, ...] = ("purpose", "minutes", "one_time_code")

CHANNELS: tuple[str, ...] = ("sms", "email", "wechat", "webhook", "sandbox")

CASE_KEYS: tuple[str, ...] = (
    "case_no",
    "item_code",
    "item_name",
    "department",
    "action_label",
    "state_label",
    "applicant_name",
    "occurred_at",
    "promised_due",
    "statutory_due",
    "due_provisional",
    "public_note",
    "fields",
    "status_url",
    "hotline",
)
WARNING_KEYS: tuple[str, ...] = (*CASE_KEYS, "level", "days_left")
PUBLICATION_KEYS: tuple[str, ...] = (
    "task",
    "period",
    "due_on",
    "published_at",
    "reasons",
    "department",
    "occurred_at",
)

# Keys of context["fields"] a notice cannot do without.
REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "correction_requested": ("corrections",),
    # `decided` shows fields.outcome when the step collects one, else the step's own label.
    "extended": ("reason", "extend_days"),
}


def required_keys(notice: str) -> tuple[str, ...]:
    """Top-level context keys the notice needs; a key may hold None where README.md says so."""
    if notice in STAFF_NOTICES:
        return WARNING_KEYS
    if notice in DEPARTMENT_NOTICES:
        return PUBLICATION_KEYS
    if notice in APPLICANT_NOTICES:
        return CASE_KEYS
    if notice == "verification_code":
        return VERIFICATION_KEYS
    if notice == "query_code_reset":
        return (*CASE_KEYS, "query_code")
    return ()


def missing_keys(notice: str, context: Mapping[str, Any]) -> list[str]:
    """Required keys absent from ``context``, fields as ``fields.<name>``, in documented order."""
    missing = [key for key in required_keys(notice) if key not in context]
    fields = context.get("fields")
    if isinstance(fields, Mapping):
        missing += [f"fields.{k}" for k in REQUIRED_FIELDS.get(notice, ()) if k not in fields]
    return missing
