"""Concurrent uploads to one case cannot together pass its limits (real SQLite and PostgreSQL): each
request is checked against what the case holds before its files are stored, and again inside the
write that records them."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from gkflow.domain.cases import Actor
from gkflow.domain.errors import Conflict, TooLarge
from gkflow.services import materials
from gkflow.services.cases import Applicant, submit_case
from tests.helpers_door import JPEG, PDF, written

MATERIAL = "申请人身份证明（身份证、营业执照等）"
APPLICANT = Actor("applicant", "applicant")


def _held(rt, case_no: str) -> int:
    with rt.engine.connect() as conn:
        case_id = conn.execute(select(materials.case_rows.cases_t.c.id)
                               .where(materials.case_rows.cases_t.c.case_no == case_no)).scalar_one()
        return conn.execute(select(func.count()).select_from(materials.materials_t)
                            .where(materials.materials_t.c.case_id == case_id)).scalar_one()


def test_two_uploads_at_once_cannot_exceed_the_files_a_case_may_hold(
    rt, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(materials, "MAX_FILES_PER_CASE", 3)
    case = submit_case(rt, "gov-info-request", Applicant("王小明", "13912345678"),
                       fields={"requested_information": "预算"})
    # Both requests pass the first check (the case holds nothing yet), then meet before storing.
    both_checked = threading.Barrier(2, timeout=10)
    put_files = materials.put_files

    def meet_then_put(*args, **kwargs):  # type: ignore[no-untyped-def]
        both_checked.wait()
        return put_files(*args, **kwargs)

    monkeypatch.setattr(materials, "put_files", meet_then_put)
    outcomes: list[object] = []

    def upload(n: int) -> None:
        files = [materials.Upload(MATERIAL, f"{n}-a.pdf", PDF + bytes([n])),
                 materials.Upload(MATERIAL, f"{n}-b.jpg", JPEG[:-2] + bytes([n]) + JPEG[-2:])]
        try:
            outcomes.append(materials.add_materials(rt, case.case_no, files, actor=APPLICANT,
                                                    query_code=case.query_code))
        except (TooLarge, Conflict) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=upload, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    stored = [o for o in outcomes if isinstance(o, list)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(stored) == 1 and len(refused) == 1, outcomes
    assert _held(rt, case.case_no) == 2
    # The refused request's files were removed again: only the two recorded ones are stored.
    assert len(written(rt)["blobs"]) == 2
