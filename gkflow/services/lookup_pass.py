"""The applicant's pass for one case after a successful look-up: a short-lived signed value kept in a
cookie, so the query code travels once (in a POST body) and never again in a URL or a log. A reset
query code invalidates every pass issued before it."""

from __future__ import annotations

from datetime import timedelta

from gkflow.db import case_rows
from gkflow.domain.errors import NotFound
from gkflow.runtime import Runtime
from gkflow.services.lookup_limits import guarded_public_case
from gkflow.services.read_models import PublicCase
from gkflow.services.signing import sign, unsign
from gkflow.services.views import PUBLIC_NOT_FOUND, public_case

PASS_LIFETIME = timedelta(minutes=30)
_KEY = "lookup-pass"


def _query_hash(rt: Runtime, case_no: str) -> str:
    with rt.engine.connect() as conn:
        return str(case_rows.case_row(conn, case_no)["query_hash"])


def issue_pass(rt: Runtime, case_no: str) -> str:
    """A pass for ``case_no`` (call only after the query code was checked)."""
    expires = int((rt.now() + PASS_LIFETIME).timestamp())
    return sign(rt, _KEY, f"{case_no}|{expires}|{_query_hash(rt, case_no)[:16]}")


def pass_is_valid(rt: Runtime, case_no: str, value: str | None) -> bool:
    """Whether ``value`` is a live pass for ``case_no`` issued under its current query code."""
    text = unsign(rt, _KEY, value or "")
    if text is None:
        return False
    number, _, rest = text.partition("|")
    expires, _, fingerprint = rest.partition("|")
    if number != case_no or not expires.isdigit() or int(expires) < rt.now().timestamp():
        return False
    try:
        return _query_hash(rt, case_no)[:16] == fingerprint
    except NotFound:
        return False


def case_with_pass(rt: Runtime, case_no: str, value: str | None) -> PublicCase:
    """The applicant's view of a case its pass opens; NotFound (the public wording) otherwise."""
    if not pass_is_valid(rt, case_no, value):
        raise NotFound(PUBLIC_NOT_FOUND)
    return public_case(rt, case_no, None)


def look_up(rt: Runtime, *, client: str, case_no: str, code: str) -> tuple[PublicCase, str]:
    """Check case number and query code (failures counted per client); the view and a new pass."""
    view = guarded_public_case(rt, client=client, case_no=case_no, code=code)
    return view, issue_pass(rt, view.case_no)
