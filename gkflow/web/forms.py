"""Multipart forms with one optional file (evidence uploads): fields and the file, size-capped."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from gkflow.domain.errors import InvalidInput

MAX_UPLOAD_BYTES = 11 * 1024 * 1024


class Upload:
    """The text fields of a multipart form and its one file (None when none was chosen)."""

    def __init__(self, fields: dict[str, str], file: tuple[str, bytes] | None) -> None:
        self.fields = fields
        self.file = file


async def read_upload(request: Request) -> Upload:
    """A multipart/form-data body with at most one file field named ``evidence_file``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise InvalidInput("上传内容过大（不超过10 MB）(the upload is too large)")
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidInput("expected a multipart form (multipart/form-data)")
    form = await request.form(max_files=1, max_fields=50)
    fields: dict[str, str] = {}
    file: tuple[str, bytes] | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read(MAX_UPLOAD_BYTES + 1)
            if len(content) > MAX_UPLOAD_BYTES:
                raise InvalidInput("上传文件过大（不超过10 MB）(the file is too large)")
            if content and key == "evidence_file":
                file = (value.filename or "evidence", content)
        else:
            fields[key] = value
    await form.close()
    return Upload(fields, file)


UploadForm = Annotated[Upload, Depends(read_upload)]
