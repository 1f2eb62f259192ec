"""Reading a multipart upload: one declared material and its files, refused with a Chinese message
when it is not a multipart form."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from gkflow.domain.errors import InvalidInput
from gkflow.services.materials import MAX_FILE_BYTES, MAX_FILES_PER_REQUEST
from gkflow.web.limits import MAX_UPLOAD_BODY


async def read_form_files(request: Request) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    """A multipart form's text fields, and its files as (field name, file name, bytes)."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        raise InvalidInput("请以 multipart/form-data 上传文件", fields=["file"])
    form = await request.form(max_files=MAX_FILES_PER_REQUEST * 10, max_fields=200,
                              max_part_size=MAX_UPLOAD_BODY)
    texts: dict[str, str] = {}
    files: list[tuple[str, str, bytes]] = []
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if value.filename:  # an empty file input sends a part without a name
                    data = await value.read(MAX_FILE_BYTES + 1)
                    files.append((key, value.filename, data))
            else:
                texts[key] = value
    finally:
        await form.close()
    return texts, files


async def read_uploads(request: Request) -> tuple[str, list[tuple[str, bytes]]]:
    """The material named in the form and the files sent under ``file``."""
    texts, files = await read_form_files(request)
    return texts.get("material", "").strip(), [(name, data) for key, name, data in files if key == "file"]
