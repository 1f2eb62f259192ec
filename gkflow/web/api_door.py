"""The applicant's front door over JSON: phone verification (短信验证码), materials online, and query
code recovery (找回查询码). Submission itself is ``POST /api/cases`` (gkflow.web.api)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gkflow.domain.cases import Actor
from gkflow.services.materials import MAX_FILE_BYTES, Upload, add_materials
from gkflow.services.phone_codes import confirm_code, request_code
from gkflow.services.recovery import confirm_recovery, start_recovery
from gkflow.web.deps import ClientKey, QueryCode, RuntimeDep, optional_api_account
from gkflow.web.uploads import read_uploads

router = APIRouter(prefix="/api")


class PhoneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=32, description="a mainland mobile number")


class CodeSentAnswer(BaseModel):
    phone: str = Field(description="masked: 139****5678")
    expires_in_seconds: int
    sandbox: bool = Field(description="true: the SMS goes to the local sandbox inbox, not to a phone")


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=12, description="the 6-digit code from the SMS")


class VerificationAnswer(BaseModel):
    verification_token: str = Field(description="send as X-Phone-Verification with POST /api/cases")
    expires_in_seconds: int


class MaterialAnswer(BaseModel):
    material: str
    filename: str
    size: int
    media_type: str
    sha256: str


class RecoveryConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=12)


class NewQueryCode(BaseModel):
    case_no: str
    query_code: str = Field(description="the new query code, shown this once; the old one no longer works")


def sms_sandboxed(request: Request) -> bool:
    """Whether SMS goes to the sandbox inbox rather than a gateway."""
    config = request.app.state.channels_config
    return bool(config.sandbox_all or "sms" in config.sandboxed)


@router.post("/phone-verifications", status_code=202)
def send_code(rt: RuntimeDep, client: ClientKey, body: PhoneRequest, request: Request) -> CodeSentAnswer:
    """Send a 6-digit one-time code to the phone (valid 5 minutes, 5 tries; one a minute, ten a day)."""
    sent = request_code(rt, body.phone, client=client)
    return CodeSentAnswer(phone=sent.phone_masked, expires_in_seconds=sent.expires_in_seconds,
                          sandbox=sms_sandboxed(request))


@router.post("/phone-verifications/confirm")
def confirm(rt: RuntimeDep, body: ConfirmRequest) -> VerificationAnswer:
    """The code from the SMS → a single-use token (30 minutes) for ``X-Phone-Verification``."""
    return VerificationAnswer(verification_token=confirm_code(rt, body.phone, body.code),
                              expires_in_seconds=30 * 60)


_UPLOAD_SCHEMA = {"type": "object", "required": ["material", "file"], "properties": {
    "material": {"type": "string", "description": "the declared material's name"},
    "file": {"type": "array", "items": {"type": "string", "format": "binary"},
             "description": f"PDF, OFD, JPEG or PNG, each at most {MAX_FILE_BYTES // 2**20} MB"}}}


@router.post("/cases/{case_no}/materials", status_code=201, openapi_extra={
    "requestBody": {"content": {"multipart/form-data": {"schema": _UPLOAD_SCHEMA}}}})
async def upload_materials(
    rt: RuntimeDep, request: Request, case_no: str, code: QueryCode
) -> list[MaterialAnswer]:
    """Add files to one declared material: the applicant with ``X-Query-Code``, or staff with a bearer."""
    account = optional_api_account(request)
    material, files = await read_uploads(request)
    uploads = [Upload(material, name, data) for name, data in files]
    if account is not None:
        actor = Actor(account.username, account.roles[0] if account.roles else "staff", account.department)
        stored = await run_in_threadpool(add_materials, rt, case_no, uploads, actor=actor, staff=account)
    else:
        stored = await run_in_threadpool(add_materials, rt, case_no, uploads,
                                         actor=Actor("applicant", "applicant"), query_code=code)
    return [MaterialAnswer(material=f.material, filename=f.filename, size=f.size, media_type=f.media_type,
                           sha256=f.sha256) for f in stored]


@router.post("/cases/{case_no}/query-code-recovery", status_code=202)
def recover(rt: RuntimeDep, client: ClientKey, case_no: str, body: PhoneRequest) -> CodeSentAnswer:
    """找回查询码, step 1: a one-time code to the case's phone. The answer is the same whether or not the
    phone is the case's (so phones cannot be matched to cases); only the right one gets an SMS."""
    sent = start_recovery(rt, case_no, body.phone, client=client)
    return CodeSentAnswer(phone=sent.phone_masked, expires_in_seconds=sent.expires_in_seconds, sandbox=False)


@router.post("/cases/{case_no}/query-code-recovery/confirm")
def recover_confirm(rt: RuntimeDep, client: ClientKey, case_no: str, body: RecoveryConfirm) -> NewQueryCode:
    """找回查询码, step 2: the code → a new query code (the old one stops working)."""
    return NewQueryCode(case_no=case_no, query_code=confirm_recovery(rt, case_no, body.phone, body.code,
                                                                     client=client))

