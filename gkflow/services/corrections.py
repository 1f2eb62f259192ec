"""补正 without a trip: staff tick the materials to hand in again (a ``materials`` field of the
correction request) and explain in a public note; the applicant uploads exactly those on the status
page, which records the files and fires the correction-received step as the applicant, in one
transaction (the clock restarts or resumes as the item says)."""

from __future__ import annotations

from collections.abc import Sequence

from gkflow.db import case_rows
from gkflow.db.engine import write_connection
from gkflow.domain.cases import Actor
from gkflow.domain.errors import InvalidInput, TransitionNotAllowed
from gkflow.domain.fields import FieldType
from gkflow.domain.items import ItemVersion, Transition
from gkflow.runtime import Runtime
from gkflow.services.cases import Fired, fire_in
from gkflow.services.materials import Upload, check_uploads, discard_unreferenced, put_files, record_in
from gkflow.services.read_models import PublicCase

APPLICANT = Actor("applicant", "applicant")


def applicant_step(item: ItemVersion, state: str) -> Transition | None:
    """The step the applicant takes from ``state`` online (提交补正材料), if there is one."""
    steps = [t for t in item.transitions_from(state) if "applicant" in t.roles and not t.fields]
    named = [t for t in steps if t.name == "submit_correction"]
    chosen = named or steps
    return chosen[0] if chosen else None


def requested_materials(item: ItemVersion, view: PublicCase) -> list[str]:
    """The materials staff ticked when they asked for this correction (none: nothing to upload online)."""
    if view.final or applicant_step(item, view.state) is None:
        return []
    entered = next((e for e in reversed(view.timeline) if e.to == view.state and e.from_state != e.to), None)
    if entered is None:
        return []
    transition = item.transitions.get(entered.action)
    if transition is None:
        return []
    names: list[str] = []
    for spec in transition.fields:
        if spec.type is FieldType.MATERIALS and entered.fields.get(spec.name):
            names += [n for n in entered.fields[spec.name].split("\n") if n]
    return names


def submit_correction_online(rt: Runtime, view: PublicCase, uploads: Sequence[Upload]) -> Fired:
    """Record the applicant's files for exactly the requested materials and fire the correction step.
    ``view`` is the applicant's view of the case, opened with the query code or a look-up pass."""
    item = rt.item(view.item, view.item_version)
    wanted = requested_materials(item, view)
    step = applicant_step(item, view.state)
    if not wanted or step is None:
        raise TransitionNotAllowed("本办件目前无需在线补正材料", state=view.state, allowed=[])
    given = {u.material for u in uploads}
    missing = [name for name in wanted if name not in given]
    if missing:
        raise InvalidInput("请上传需要补正的全部材料：" + "、".join(f"“{n}”" for n in missing),
                           fields=["file"])
    checked = check_uploads(uploads, wanted)
    stored, created = put_files(rt, checked)
    try:
        with write_connection(rt.engine) as conn, conn.begin():
            row = case_rows.case_row(conn, view.case_no)
            record_in(conn, rt, row, stored, APPLICANT, rt.now())
            return fire_in(conn, rt, view.case_no, step.name, APPLICANT)
    except BaseException:
        discard_unreferenced(rt, created)
        raise
