"""`gkflow case submit | advance | show`: cases (办件)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, parse_fields, parse_time, plain_data, runtime

app = typer.Typer(no_args_is_help=True, help="Cases (办件)")


def _case_text(view: dict[str, Any]) -> str:
    def due(kind: str) -> str:
        value = view.get(f"{kind}_due") or "(clock stopped)"
        return value + (" (provisional)" if view.get(f"{kind}_due_provisional") else "")

    lines = [
        f"{view['case_no']}  {view['item_name']} v{view['item_version']}",
        f"state: {view['state']} ({view['state_label']})  version {view['version']}  clock {view['clock']}",
        f"received: {view['received_at']}  statutory due: {due('statutory')}  "
        f"promised due: {due('promised')}",
    ]
    if view.get("query_code"):
        lines.append(f"query code (shown once, give it to the applicant): {view['query_code']}")
    for w in view.get("warnings", []):
        lines.append(f"warning: {w['level']} on {w['scope']} (due {w['due']})")
    for t in view.get("timeline", []):
        lines.append(f"  #{t['seq']} {t['at']} {t['action']} -> {t['to']} by {t['actor']} ({t['role']})"
                     + (f": {t['comment']}" if t["comment"] else "")
                     + (f" [对申请人说明: {t['public_note']}]" if t.get("public_note") else "")
                     + (f"  [补录 {t['recorded_at']}: {t['backdate_reason']}]" if t.get("backdate_reason")
                        else ""))
    return "\n".join(lines)


@app.command("submit")
@handles_errors
def case_submit(
    item: str,
    name: Annotated[str, typer.Option("--name", help="applicant name")],
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    id_number: Annotated[str | None, typer.Option("--id-number")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    received_at: Annotated[str | None, typer.Option("--received-at", help="ISO; local time if naive")] = None,
    channel: Annotated[str, typer.Option("--channel", help="intake channel")] = "window",
    field: Annotated[list[str] | None, typer.Option("--field", help="k=v, repeatable")] = None,
    json_: JsonFlag = False,
) -> None:
    """Register a case (收件) and print its case number and query code."""
    from gkflow.services.cases import Applicant, submit_case
    from gkflow.services.views import submitted_case

    rt = runtime()
    submitted = submit_case(
        rt, item, Applicant(name, phone, id_number, email), received_at=parse_time(received_at, rt),
        intake_channel=channel, fields=parse_fields(field),
    )
    view = plain_data(submitted_case(rt, submitted.case_no, submitted.query_code))
    emit(view, json_, lambda: _case_text(view))


@app.command("advance")
@handles_errors
def case_advance(
    case_no: str,
    action: str,
    actor: Annotated[str, typer.Option("--actor", help="user name")],
    role: Annotated[str, typer.Option("--role")],
    department: Annotated[str | None, typer.Option("--department")] = None,
    expected_version: Annotated[int | None, typer.Option("--expected-version")] = None,
    comment: Annotated[str | None, typer.Option(
        "--comment", help="internal note (内部意见), staff only")] = None,
    public_note: Annotated[str | None, typer.Option(
        "--public-note", help="note to the applicant (对申请人说明): status page and notices")] = None,
    field: Annotated[list[str] | None, typer.Option("--field", help="k=v, repeatable")] = None,
    at: Annotated[str | None, typer.Option("--at", help="ISO; local time if naive")] = None,
    reason: Annotated[str | None, typer.Option(
        "--reason", help="why a back-dated --at is entered late (补录), e.g. 根据纸质记录补录")] = None,
    json_: JsonFlag = False,
) -> None:
    """Fire one transition (办理环节); a step dated in the past (--at) is a back-dated entry and
    needs --reason."""
    from gkflow.domain.cases import Actor
    from gkflow.services.cases import fire
    from gkflow.services.views import show_case

    rt = runtime()
    fire(rt, case_no, action, Actor(actor, role, department), fields=parse_fields(field),
         expected_version=expected_version, comment=comment, public_note=public_note,
         occurred_at=parse_time(at, rt), backdate_reason=reason)
    view = plain_data(show_case(rt, case_no))
    emit(view, json_, lambda: _case_text(view))


@app.command("show")
@handles_errors
def case_show(case_no: str, json_: JsonFlag = False) -> None:
    """State, due dates, warnings and timeline."""
    from gkflow.services.views import show_case

    view = plain_data(show_case(runtime(), case_no))
    emit(view, json_, lambda: _case_text(view))



def _list_text(page: dict[str, Any]) -> str:
    counts = page["counts"]
    lines = [
        f"open {counts['open']} · due within 7 days {counts['week']} · overdue {counts['overdue']} · "
        f"completed {counts['completed']} · all {counts['all']}"
    ]
    for row in page["items"]:
        if row["final"]:
            where = f"closed {row['closed_at'][:10]}" + (" on time" if row["on_time"] else
                                                          " late" if row["on_time"] is False else "")
        elif row["days_left"] is None:
            where = "clock stopped"
        else:
            unit = "working days" if row["days_unit"] == "working" else "days"
            where = (f"{-row['days_left']} {unit} overdue" if row["days_left"] < 0
                     else f"{row['days_left']} {unit} left")
        lines.append(f"{row['case_no']}  {row['applicant']:<6} {row['item_name']} · {row['state_label']}"
                     f" · received {(row['received_at'] or '')[:10]} · {where}")
    if not page["items"]:
        lines.append("(no cases)")
    if page["next_cursor"]:
        lines.append(f"more: --cursor {page['next_cursor']}")
    return "\n".join(lines)


@app.command("list")
@handles_errors
def case_list(
    q: Annotated[str | None, typer.Option("--q", help="case number or 3+ letters of it, applicant name "
                                                      "or part of it, the phone's last four digits")] = None,
    item: Annotated[str | None, typer.Option("--item")] = None,
    state: Annotated[str | None, typer.Option("--state")] = None,
    department: Annotated[str | None, typer.Option("--department", help="handling department")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="open, promised date passed")] = False,
    week: Annotated[bool, typer.Option("--week", help="open, due within 7 days")] = False,
    completed: Annotated[bool, typer.Option("--completed")] = False,
    all_: Annotated[bool, typer.Option("--all", help="open and completed")] = False,
    warned: Annotated[bool, typer.Option("--warned", help="a yellow or red card was raised")] = False,
    from_: Annotated[str | None, typer.Option("--from", help="received on or after YYYY-MM-DD")] = None,
    to: Annotated[str | None, typer.Option("--to", help="received on or before YYYY-MM-DD")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="from the last page")] = None,
    json_: JsonFlag = False,
) -> None:
    """Search cases (办件查询): open ones by default, every case when --q is given."""
    from gkflow.cli.common import parse_date
    from gkflow.domain.errors import InvalidInput
    from gkflow.services.case_search import search_cases

    tabs = [name for name, on in (("overdue", overdue), ("week", week), ("completed", completed),
                                  ("all", all_)) if on]
    if len(tabs) > 1:
        raise InvalidInput("choose one of --overdue, --week, --completed, --all")
    page = plain_data(search_cases(
        runtime(), None, q=q, tab=tabs[0] if tabs else None, item=item, state=state,
        department=department, received_from=parse_date(from_) if from_ else None,
        received_to=parse_date(to) if to else None, warned=warned, cursor=cursor, limit=limit,
    ))
    emit(page, json_, lambda: _list_text(page))
