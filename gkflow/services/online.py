"""Online applications (网上申请): a case submitted over the internet. Anonymous applicants prove
their phone first (gkflow.services.phone_codes); partners and staff submit with a bearer token.
The case, its first event, its files' event and the spent token commit together or not at all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gkflow.db import case_rows
from gkflow.db.engine import write_connection
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidInput
from gkflow.runtime import Runtime
from gkflow.services import rate_counters
from gkflow.services.accounts import Account
from gkflow.services.cases import Applicant, checked_applicant, submit_case_in
from gkflow.services.materials import StoredFile, discard_unreferenced, record_in
from gkflow.services.phone_codes import spend_token_in
from gkflow.services.read_models import PublicSubmission
from gkflow.services.views import public_case

PARTNER_ROLE = "partner"


def submit_online(
    rt: Runtime, item_code: str, applicant: Applicant, *, fields: Mapping[str, object] | None = None,
    client: str = "unknown", verification_token: str | None = None, account: Account | None = None,
    files: Sequence[StoredFile] = (), created_blobs: Sequence[str] = (),
) -> PublicSubmission:
    """Submit a case of an item that may be applied for online; the applicant's view with its code.

    Without ``account`` the applicant's phone needs a live verification token (PhoneUnverified) and
    the client's submissions are counted. ``files`` were stored already; ``created_blobs`` (those this
    request wrote) are removed again if the submission is refused.
    """
    try:
        item = rt.item_in_force(item_code, rt.local_date(rt.now()))
        if item.channels and not item.online:
            raise InvalidInput(f"“{item.name}”不能网上申请，请到窗口办理", fields=["item"])
        applicant = checked_applicant(applicant)
        actor = Actor("applicant", "applicant")
        if account is not None:
            actor = account.actor_for((PARTNER_ROLE, "window_clerk", "dispatcher"))
        with write_connection(rt.engine) as conn, conn.begin():
            if account is None:
                rate_counters.count_in(conn, rate_counters.SUBMIT_PER_CLIENT_HOUR, client, rt.now())
                spend_token_in(conn, rt, applicant.phone, verification_token)
            submitted = submit_case_in(conn, rt, item_code, applicant, intake_channel="online", fields=fields,
                                       actor=actor, phone_verified=True)
            if files:
                row = case_rows.case_row(conn, submitted.case_no)
                record_in(conn, rt, row, files, actor, rt.now())
            # The acknowledgement e-mail (if an address was given) carries the query code; SMS never.
            if applicant.email:
                case_rows.set_outbox_secret(conn, submitted.case_no, seq=1, channel="email",
                                            secret={"query_code": submitted.query_code})
    except BaseException:
        discard_unreferenced(rt, created_blobs)
        raise
    view = public_case(rt, submitted.case_no, submitted.query_code)
    return PublicSubmission(**dict(view), query_code=submitted.query_code)
