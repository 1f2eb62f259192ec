"""好差评: one rating per completed case; a bad one opens a rectification for the handling department."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gkflow.config.files import read_mapping
from gkflow.db.case_rows import cases_t
from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.db.web_models import RatingRow, RectificationRow
from gkflow.domain.cases import Actor
from gkflow.domain.errors import Conflict, Forbidden, InvalidConfig, InvalidInput, NotFound
from gkflow.domain.identifiers import query_code_matches
from gkflow.runtime import Runtime
from gkflow.services.cases import append_event
from gkflow.services.views import PUBLIC_NOT_FOUND

ratings_t = table_of(RatingRow)
rectifications_t = table_of(RectificationRow)

LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_LEVELS = frozenset({1, 2})
RATINGS_FILE = "ratings.yaml"
RATED_ACTION = "rated"


@dataclass(frozen=True)
class RatingPolicy:
    rectification_working_days: int = 5
    satisfaction_goal: float = 0.98


def rating_policy(rt: Runtime) -> RatingPolicy:
    """The rating policy of config/ratings.yaml (rectification days, satisfaction goal)."""
    path = os.path.join(rt.settings.config_dir, RATINGS_FILE)
    data = read_mapping(path)
    if not data:
        return RatingPolicy()
    days = data.get("rectification_working_days", 5)
    goal = data.get("satisfaction_goal", 0.98)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
        raise InvalidConfig(f"{path}: rectification_working_days must be a whole number from 1 to 60")
    if not isinstance(goal, int | float) or not 0 < goal <= 1:
        raise InvalidConfig(f"{path}: satisfaction_goal must be a share between 0 and 1")
    return RatingPolicy(days, float(goal))


@dataclass(frozen=True)
class Rated:
    case_no: str
    level: int
    label: str
    bad: bool
    rectification_due: date | None


def rate_case(rt: Runtime, case_no: str, query_code: str | None, level: int,
              comment: str | None = None) -> Rated:
    """The applicant's rating: needs the query code (None: the caller checked a look-up pass) and a
    case in a final state; once per case."""
    if level not in LEVELS:
        raise InvalidInput("level must be 1 (非常不满意) to 5 (非常满意)", fields=["level"])
    comment = (comment or "").strip() or None
    if comment and len(comment) > 500:
        raise InvalidInput("the comment may hold at most 500 characters", fields=["comment"])
    now = rt.now()
    today = rt.local_date(now)
    bad = level in BAD_LEVELS
    policy = rating_policy(rt) if bad else RatingPolicy()
    due = rt.calendar.add_working_days(today, policy.rectification_working_days) if bad else None
    with write_connection(rt.engine) as conn, conn.begin():
        found = conn.execute(select(cases_t).where(cases_t.c.case_no == case_no)).mappings().first()
        row = dict(found) if found is not None else None
        if row is None or (query_code is not None and (
                not query_code or not query_code_matches(case_no, query_code, row["query_hash"]))):
            raise NotFound(PUBLIC_NOT_FOUND)
        item = rt.item(row["item_code"], row["item_version"])
        if not item.is_final(row["state"]):
            raise Conflict("办件办结后才能评价 (a case can be rated once it is completed)")
        if conn.execute(select(ratings_t.c.id).where(ratings_t.c.case_id == row["id"])).first():
            raise Conflict("该办件已评价，每件只能评价一次 (this case has been rated already)")
        # A bad rating is followed up by whoever handled the case (国办发〔2019〕51号).
        handling = row["assigned_department"] or row["department"]
        try:
            rating_id = conn.execute(
                ratings_t.insert()
                .values(
                    case_id=row["id"],
                    case_no=case_no,
                    item_code=row["item_code"],
                    department=handling,
                    level=level,
                    bad=bad,
                    comment=comment,
                    rated_at=now,
                )
                .returning(ratings_t.c.id)
            ).scalar_one()
        except IntegrityError:
            raise Conflict("该办件已评价，每件只能评价一次 (this case has been rated already)") from None
        fields = {"level": str(level), "label": LEVELS[level]}
        append_event(conn, rt, row, RATED_ACTION, Actor("applicant", "applicant"), at=now, comment=comment,
                     fields=fields)
        if bad and due is not None:
            conn.execute(
                rectifications_t.insert().values(
                    rating_id=rating_id,
                    case_no=case_no,
                    department=handling,
                    opened_at=now,
                    due_on=due.date,
                    due_provisional=due.provisional,
                    status="open",
                )
            )
    return Rated(case_no, level, LEVELS[level], bad, due.date if due else None)


def rating_of(rt: Runtime, case_no: str) -> dict[str, Any] | None:
    """The rating of a case, if it has one."""
    with rt.engine.connect() as conn:
        row = conn.execute(select(ratings_t).where(ratings_t.c.case_no == case_no)).mappings().first()
    if row is None:
        return None
    return {
        "level": row["level"],
        "label": LEVELS[row["level"]],
        "bad": row["bad"],
        "rated_at": row["rated_at"],
    }


def close_rectification(
    rt: Runtime,
    rectification_id: int,
    *,
    user: str,
    department: str | None,
    is_admin: bool,
    resolution: str,
) -> None:
    """Close a rectification with its resolution (its department or an administrator)."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise InvalidInput("describe what was done (整改情况)", fields=["resolution"])
    with write_connection(rt.engine) as conn, conn.begin():
        row = (
            conn.execute(select(rectifications_t).where(rectifications_t.c.id == rectification_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"rectification {rectification_id} not found")
        if not is_admin and department != row["department"]:
            raise Forbidden(f"only {row['department']} or an administrator may close this rectification")
        if row["status"] != "open":
            raise Conflict(f"rectification {rectification_id} is closed already")
        conn.execute(
            rectifications_t.update()
            .where(rectifications_t.c.id == rectification_id)
            .values(status="closed", closed_at=rt.now(), closed_by=user, resolution=resolution[:2000])
        )


def rating_summary(rt: Runtime) -> dict[str, Any]:
    """Counts per level, the satisfaction rate (share of ratings that are not bad) and the goal."""
    with rt.engine.connect() as conn:
        counts: dict[int, int] = {
            int(level): int(n)
            for level, n in conn.execute(select(ratings_t.c.level, func.count()).group_by(ratings_t.c.level))
        }
    total = sum(counts.values())
    bad = sum(n for level, n in counts.items() if level in BAD_LEVELS)
    goal = rating_policy(rt).satisfaction_goal
    rate = (total - bad) / total if total else None
    return {
        "total": total,
        "bad": bad,
        "goal": goal,
        "rate": rate,
        "meets_goal": rate is None or rate >= goal,
        "levels": [{"level": lv, "label": LEVELS[lv], "count": counts.get(lv, 0)} for lv in LEVELS],
    }


def rectifications(
    rt: Runtime, *, status: str | None = "open", department: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Rectifications of bad ratings, soonest due first; only ``department``'s when it is given."""
    query = (
        select(rectifications_t, ratings_t.c.level, ratings_t.c.comment, ratings_t.c.item_code)
        .join(ratings_t, ratings_t.c.id == rectifications_t.c.rating_id)
        .order_by(rectifications_t.c.due_on, rectifications_t.c.id)
        .limit(limit)
    )
    if status:
        query = query.where(rectifications_t.c.status == status)
    if department is not None:
        query = query.where(rectifications_t.c.department == department)
    with rt.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    today = rt.local_date(rt.now())
    return [
        {**dict(r), "label": LEVELS[r["level"]], "overdue": r["status"] == "open" and r["due_on"] < today}
        for r in rows
    ]
