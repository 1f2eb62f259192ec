"""Staff forms and files: a step's typed fields read from its form, and the files of a case handed in
online (viewed and downloaded by staff who may see the case)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from gkflow.services.materials import staff_download
from gkflow.web.deps import RuntimeDep, StaffSession

router = APIRouter(prefix="/staff", include_in_schema=False)


def form_fields(form: dict[str, str]) -> dict[str, str]:
    """A step's fields from its form (f_<name>); a materials field's ticks (f_<name>__<i>) as lines."""
    fields: dict[str, str] = {}
    ticks: dict[str, list[str]] = {}
    for key, value in form.items():
        if not key.startswith("f_"):
            continue
        name, _, tick = key[2:].partition("__")
        if tick:
            ticks.setdefault(name, []).append(value)
        else:
            fields[name] = value
    for name, values in ticks.items():
        fields[name] = "\n".join(values)
    return fields


@router.get("/cases/{case_no}/materials/{file_id}")
def material_download(rt: RuntimeDep, session: StaffSession, case_no: str, file_id: int) -> Response:
    """One file handed in for the case (staff who may see the case only), as an attachment."""
    entry, data = staff_download(rt, session.account, case_no, file_id)
    return Response(data, media_type=entry.media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(entry.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox"})
