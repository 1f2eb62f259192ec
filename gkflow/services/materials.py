"""Materials handed in online (在线提交材料): checked by content (PDF, OFD, JPEG, PNG; never by name),
within size limits, stored content-addressed, and recorded in the case's hash-chained history
(a ``materials_added`` event whose fields are the files' SHA-256). Staff read them back."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import filetype
from sqlalchemy import Connection, func, select

from gkflow.db import case_rows
from gkflow.db.door_models import CaseMaterialRow
from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.domain.access import Staff, require_may_see_case
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidConfig, InvalidInput, NotFound, TooLarge
from gkflow.domain.fields import has_control_characters
from gkflow.domain.identifiers import query_code_matches
from gkflow.runtime import Runtime
from gkflow.services.cases import append_event
from gkflow.services.views import PUBLIC_NOT_FOUND
from gkflow.storage import BlobStore, blob_store

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_CASE_BYTES = 50 * 1024 * 1024
MAX_FILES_PER_REQUEST = 10
MAX_FILES_PER_CASE = 50
MATERIALS_ACTION = "materials_added"
ACCEPTED_TYPES = {"application/pdf": "PDF", "application/ofd": "OFD", "image/jpeg": "JPEG",
                  "image/png": "PNG"}
ACCEPTED_WORDS = "PDF、OFD、JPEG、PNG"
# A name that says one accepted type while the content is another is refused: one of them is wrong.
EXTENSION_TYPES = {".pdf": "application/pdf", ".ofd": "application/ofd", ".jpg": "image/jpeg",
                   ".jpeg": "image/jpeg", ".png": "image/png"}

materials_t = table_of(CaseMaterialRow)


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: which declared material, its name as sent, its bytes."""

    material: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    material: str
    filename: str
    sha256: str
    size: int
    media_type: str


def store(rt: Runtime) -> BlobStore:
    """The blob store of this runtime (the var dir's materials folder)."""
    return blob_store(rt.settings.var_dir, fsync=rt.settings.upload_fsync)


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` from its content, if it is one accepted (an OFD is a zip with OFD.xml)."""
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime == "application/zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        return "application/ofd" if "OFD.xml" in names else None
    return mime if mime in ACCEPTED_TYPES else None


def _clean_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
    if has_control_characters(base):
        raise InvalidInput("文件名含有不允许的控制字符", fields=["file"])
    return base[:120]


def check_uploads(uploads: Sequence[Upload], declared: Sequence[str], *, already_bytes: int = 0,
                  already_files: int = 0) -> list[tuple[Upload, str]]:
    """Each upload with its sniffed media type; InvalidInput/TooLarge naming the file otherwise.
    Nothing is stored until every file of the request passed."""
    if not uploads:
        raise InvalidInput("请选择要上传的文件", fields=["file"])
    if len(uploads) > MAX_FILES_PER_REQUEST:
        raise TooLarge(f"一次最多上传{MAX_FILES_PER_REQUEST}个文件", fields=["file"])
    check_room(already_bytes, already_files, [u.data for u in uploads])
    checked = []
    for upload in uploads:
        name = _clean_filename(upload.filename)
        if upload.material not in declared:
            raise InvalidInput(f"“{upload.material}”不是本事项的申请材料", fields=["material"])
        if not upload.data:
            raise InvalidInput(f"文件“{name}”是空的", fields=["file"])
        if len(upload.data) > MAX_FILE_BYTES:
            raise TooLarge(f"文件“{name}”超过{MAX_FILE_BYTES // 1024 // 1024}MB", fields=["file"])
        media_type = sniff(upload.data)
        if media_type is None:
            raise InvalidInput(f"文件“{name}”不是{ACCEPTED_WORDS}格式（按文件内容识别，与扩展名无关）",
                               fields=["file"])
        suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if suffix in EXTENSION_TYPES and EXTENSION_TYPES[suffix] != media_type:
            raise InvalidInput(f"文件“{name}”的内容是{ACCEPTED_TYPES[media_type]}，与扩展名{suffix}不符，"
                               "请确认后重新选择", fields=["file"])
        checked.append((Upload(upload.material, name, upload.data), media_type))
    return checked


def check_room(already_bytes: int, already_files: int, files: Sequence[bytes]) -> None:
    """TooLarge if ``files`` do not fit beside what the case holds already."""
    if already_files + len(files) > MAX_FILES_PER_CASE:
        raise TooLarge(f"每件办件最多{MAX_FILES_PER_CASE}个文件", fields=["file"])
    if already_bytes + sum(len(data) for data in files) > MAX_CASE_BYTES:
        raise TooLarge(f"本件材料合计超过{MAX_CASE_BYTES // 1024 // 1024}MB", fields=["file"])


def put_files(rt: Runtime, checked: Sequence[tuple[Upload, str]]) -> tuple[list[StoredFile], list[str]]:
    """Write the checked files to the store; the stored files, and the blobs this call created (to be
    removed again if the transaction that records them fails)."""
    blobs = store(rt)
    stored, created = [], []
    for upload, media_type in checked:
        digest, new = blobs.put(upload.data)
        if new:
            created.append(digest)
        stored.append(StoredFile(upload.material, upload.filename, digest, len(upload.data), media_type))
    return stored, created


def discard_unreferenced(rt: Runtime, digests: Sequence[str]) -> None:
    """Remove blobs nothing refers to any more (after a failed transaction)."""
    if not digests:
        return
    with rt.engine.connect() as conn:
        used = set(conn.execute(select(materials_t.c.sha256).where(
            materials_t.c.sha256.in_(list(digests)))).scalars())
    blobs = store(rt)
    for digest in digests:
        if digest not in used:
            blobs.delete(digest)


def material_fields(files: Sequence[StoredFile]) -> dict[str, str]:
    """What the history event records of each file: its material, name, size and SHA-256."""
    return {f"file{i}": f"{f.material}｜{f.filename}｜{f.size}｜sha256:{f.sha256}"
            for i, f in enumerate(files, 1)}


def record_in(conn: Connection, rt: Runtime, row: Mapping[str, Any], files: Sequence[StoredFile],
              actor: Actor, at: datetime) -> int:
    """Record ``files`` on the case ``row`` in the caller's transaction: one hash-chained event and a
    row per file. Returns the event's seq."""
    seq = append_event(conn, rt, row, MATERIALS_ACTION, actor, at=at, comment=None,
                       fields=material_fields(files))
    conn.execute(materials_t.insert(), [
        {"case_id": row["id"], "event_seq": seq, "material": f.material, "sha256": f.sha256, "size": f.size,
         "media_type": f.media_type, "filename": f.filename, "uploaded_at": at,
         "uploaded_by": actor.user if actor.role != "applicant" else "applicant"}
        for f in files
    ])
    return seq


def case_usage(conn: Connection, case_id: int) -> tuple[int, int]:
    """Bytes and files a case holds already."""
    total, count = conn.execute(select(func.coalesce(func.sum(materials_t.c.size), 0), func.count())
                                .where(materials_t.c.case_id == case_id)).one()
    return int(total), int(count)


def add_materials(rt: Runtime, case_no: str, uploads: Sequence[Upload], *, actor: Actor,
                  query_code: str | None = None, staff: Staff | None = None) -> list[StoredFile]:
    """Add files to declared materials of an open case: the applicant with the query code, or staff
    who may see the case. All or nothing: a refused request stores and records nothing."""
    row = _authorised_row(rt, case_no, query_code, staff)
    item = rt.item(row["item_code"], row["item_version"])
    if item.is_final(row["state"]):
        raise InvalidInput("办件已办结，不能再提交材料", fields=["case_no"])
    used_bytes, used_files = row["_usage"]
    checked = check_uploads(uploads, item.material_names, already_bytes=used_bytes, already_files=used_files)
    stored, created = put_files(rt, checked)
    try:
        with write_connection(rt.engine) as conn, conn.begin():
            current = case_rows.case_row(conn, case_no)
            # Again inside the write: concurrent uploads each passed the check above. SQLite runs
            # one writer at a time; on PostgreSQL the loser of two fails on the case's version.
            check_room(*case_usage(conn, current["id"]), [u.data for u, _ in checked])
            record_in(conn, rt, current, stored, actor, rt.now())
    except BaseException:
        discard_unreferenced(rt, created)
        raise
    return stored


def _authorised_row(rt: Runtime, case_no: str, query_code: str | None,
                    staff: Staff | None) -> dict[str, Any]:
    with rt.engine.connect() as conn:
        try:
            row = case_rows.case_row(conn, case_no)
        except NotFound:
            raise NotFound(PUBLIC_NOT_FOUND if staff is None else f"case {case_no} not found") from None
        row["_usage"] = case_usage(conn, row["id"])
    if staff is not None:
        require_may_see_case(staff, case_no=case_no, department=row["department"],
                             assigned_department=row["assigned_department"])
    elif not query_code or not query_code_matches(case_no, query_code, row["query_hash"]):
        raise NotFound(PUBLIC_NOT_FOUND)
    return row


@dataclass(frozen=True)
class MaterialFile:
    id: int
    material: str
    filename: str
    size: int
    media_type: str
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


def case_materials(rt: Runtime, case_id: int) -> list[MaterialFile]:
    """The files a case holds, oldest first."""
    with rt.engine.connect() as conn:
        rows = conn.execute(select(materials_t).where(materials_t.c.case_id == case_id)
                            .order_by(materials_t.c.id)).mappings().all()
    return [MaterialFile(r["id"], r["material"], r["filename"], r["size"], r["media_type"], r["sha256"],
                         r["uploaded_at"], r["uploaded_by"]) for r in rows]


def staff_materials(rt: Runtime, staff: Staff, case_no: str) -> list[MaterialFile]:
    """The files of a case staff may see."""
    row = _authorised_row(rt, case_no, None, staff)
    return case_materials(rt, row["id"])


def staff_download(rt: Runtime, staff: Staff, case_no: str, file_id: int) -> tuple[MaterialFile, bytes]:
    """One file of a case staff may see, with its bytes (checked against its SHA-256 on the way)."""
    for entry in staff_materials(rt, staff, case_no):
        if entry.id == file_id:
            data = store(rt).get(entry.sha256)
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise InvalidConfig(f"stored file {entry.sha256} does not match its hash")
            return entry, data
    raise NotFound(f"办件 {case_no} 没有编号为 {file_id} 的材料")


def received_materials_of(rt: Runtime, case_no: str) -> dict[str, int]:
    """For the applicant's page: how many files each material has received."""
    with rt.engine.connect() as conn:
        case_id = case_rows.case_row(conn, case_no)["id"]
    return received_materials(rt, case_id)


def received_materials(rt: Runtime, case_id: int) -> dict[str, int]:
    """For the applicant: how many files each material has received (names only, no files)."""
    counts: dict[str, int] = {}
    for entry in case_materials(rt, case_id):
        counts[entry.material] = counts.get(entry.material, 0) + 1
    return counts
