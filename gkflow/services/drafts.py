"""Online application drafts: what the applicant entered and uploaded, checked and kept (files in the
blob store) between "check your answers" and the SMS code that submits it. A draft lives one hour;
expired drafts and the files only they referred to are removed when the next draft is made."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from gkflow.db.door_models import ApplicationDraftRow
from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.domain.cases import clean_fields
from gkflow.domain.errors import InvalidInput, NotFound
from gkflow.domain.items import ItemVersion
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, checked_applicant
from gkflow.services.contacts import CONTACTS
from gkflow.services.materials import StoredFile, Upload, check_uploads, discard_unreferenced, put_files
from gkflow.services.online import submit_online
from gkflow.services.phone_codes import checked_mobile, confirm_code
from gkflow.services.read_models import PublicSubmission

DRAFT_LIFETIME = timedelta(hours=1)
drafts_t = table_of(ApplicationDraftRow)


@dataclass(frozen=True)
class Draft:
    item: ItemVersion
    applicant: Applicant
    fields: dict[str, str]
    files: list[StoredFile]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def online_item(rt: Runtime, code: str) -> ItemVersion:
    """The version of ``code`` in force today, if it may be applied for online; NotFound otherwise."""
    item = rt.item_in_force(code, rt.local_date(rt.now()))
    if not item.online:
        raise NotFound(f"“{item.name}”不能网上申请，请到窗口办理")
    return item


def create_draft(rt: Runtime, code: str, applicant: Applicant, fields: Mapping[str, str],
                 uploads: Sequence[Upload], *, client: str) -> str:
    """Check everything the applicant entered and store the files; the draft's token (for its URL)."""
    item = online_item(rt, code)
    applicant = checked_applicant(applicant)
    checked_mobile(applicant.phone)
    values = clean_fields(item.submit_fields, {k: v for k, v in fields.items() if v.strip()},
                          context_label=f"“{item.name}”", contacts=CONTACTS, materials=item.material_names)
    given = {u.material for u in uploads}
    missing = [m.name for m in item.materials if m.required and m.name not in given]
    if missing:
        raise InvalidInput("请上传必交材料：" + "、".join(f"“{name}”" for name in missing), fields=["file"])
    checked = check_uploads(uploads, item.material_names) if uploads else []
    purge_expired_drafts(rt)
    stored, created = put_files(rt, checked)
    token = secrets.token_urlsafe(24)
    now = rt.now()
    payload = {"name": applicant.name, "phone": applicant.phone, "id_number": applicant.id_number,
               "email": applicant.email, "fields": values}
    try:
        with write_connection(rt.engine) as conn, conn.begin():
            conn.execute(drafts_t.insert().values(
                token_hash=_hash(token), item_code=item.code, item_version=item.version,
                payload=json.dumps(payload, ensure_ascii=False),
                files=json.dumps([f.__dict__ for f in stored], ensure_ascii=False), client=client,
                created_at=now, expires_at=now + DRAFT_LIFETIME))
    except BaseException:
        discard_unreferenced(rt, created)
        raise
    return token


def load_draft(rt: Runtime, token: str) -> Draft:
    """A live draft; NotFound (in words for the applicant) once it expired or was submitted."""
    with rt.engine.connect() as conn:
        row = conn.execute(select(drafts_t).where(drafts_t.c.token_hash == _hash(token))).mappings().first()
    if row is None or row["expires_at"] <= rt.now():
        raise NotFound("申请填写已超过1小时或已提交，请重新填写")
    payload: dict[str, Any] = json.loads(row["payload"])
    return Draft(
        item=rt.item(row["item_code"], row["item_version"]),
        applicant=Applicant(payload["name"], payload["phone"], payload["id_number"], payload["email"]),
        fields=dict(payload["fields"]),
        files=[StoredFile(**f) for f in json.loads(row["files"])],
    )


def submit_draft(rt: Runtime, token: str, code: str, *, client: str) -> PublicSubmission:
    """The SMS code proves the phone; the draft becomes a case with its files, and is gone."""
    draft = load_draft(rt, token)
    verification = confirm_code(rt, draft.applicant.phone or "", code)
    submitted = submit_online(rt, draft.item.code, draft.applicant, fields=draft.fields, client=client,
                              verification_token=verification, files=draft.files)
    with write_connection(rt.engine) as conn, conn.begin():
        conn.execute(drafts_t.delete().where(drafts_t.c.token_hash == _hash(token)))
    return submitted


def purge_expired_drafts(rt: Runtime) -> int:
    """Remove expired drafts and the files nothing else refers to; how many drafts went."""
    now = rt.now()
    with write_connection(rt.engine) as conn, conn.begin():
        expired = conn.execute(select(drafts_t.c.id, drafts_t.c.files)
                               .where(drafts_t.c.expires_at <= now)).all()
        if not expired:
            return 0
        conn.execute(drafts_t.delete().where(drafts_t.c.id.in_([r.id for r in expired])))
        live = {f["sha256"] for (files,) in conn.execute(select(drafts_t.c.files)) for f in json.loads(files)}
    digests = {f["sha256"] for r in expired for f in json.loads(r.files)} - live
    discard_unreferenced(rt, sorted(digests))
    return len(expired)
