"""Online applications (网上申请): a case submitted by the applicant over the internet."""

from __future__ import annotations

from collections.abc import Mapping

from gkflow.domain.errors import InvalidInput
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, submit_case
from gkflow.services.read_models import PublicSubmission
from gkflow.services.views import public_case


def submit_online(
    rt: Runtime, item_code: str, applicant: Applicant, *, fields: Mapping[str, object] | None = None
) -> PublicSubmission:
    """Submit a case of an item that may be applied for online; the applicant's view with its code."""
    item = rt.item_in_force(item_code, rt.local_date(rt.now()))
    if item.channels and "online" not in item.channels:
        raise InvalidInput(
            f"item '{item.code}' cannot be applied for online; channels: {', '.join(item.channels)}",
            fields=["item"],
        )
    submitted = submit_case(rt, item_code, applicant, intake_channel="online", fields=fields)
    view = public_case(rt, submitted.case_no, submitted.query_code)
    return PublicSubmission(**view.model_dump(), query_code=submitted.query_code)
