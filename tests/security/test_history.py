"""Findings of issue 11 on the history (办理记录), each reproduced against real SQLite and PostgreSQL:
an insider with write access to the database cannot edit, truncate or re-point a case's history,
nor edit the case row, without `gkflow audit verify` naming the case (and the field)."""

from __future__ import annotations

import json
import stat
from datetime import datetime

import pytest
from sqlalchemy import text

from gkflow.domain.cases import Actor
from gkflow.domain.errors import CorruptRecord, InvalidConfig
from gkflow.domain.events import GENESIS_HASH, legacy_event_hash, seal_event
from gkflow.runtime import Runtime
from gkflow.services.audit import verify_all
from gkflow.services.case_search import search_cases
from gkflow.services.cases import Applicant, fire, submit_case
from gkflow.services.checkpoints import checkpoint_dir, publish_roots, write_checkpoint
from gkflow.services.keys import rotate_key
from gkflow.services.views import show_case
from tests.helpers import with_settings

CLERK = Actor("li.clerk", "window_clerk", "格尔木市人民政府办公室")
HANDLER = Actor("zhao.handler", "handler", "格尔木市人民政府办公室")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")


def decided_case(rt: Runtime) -> str:
    s = submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"), received_at=at("2026-03-02"),
                    fields={"requested_information": "2025年财政预算执行情况"})
    fire(rt, s.case_no, "accept", CLERK, occurred_at=at("2026-03-03"))
    fire(rt, s.case_no, "decide", HANDLER, fields={"outcome": "予以公开"}, occurred_at=at("2026-03-04"))
    return s.case_no


def unguard(conn, rt: Runtime) -> None:
    """What an insider with DDL rights does first: drop the append-only triggers."""
    if rt.engine.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER events_no_update"))
        conn.execute(text("DROP TRIGGER events_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER events_no_update_delete ON events"))


def repoint(conn, case_no: str, head: str) -> None:
    conn.execute(text("UPDATE cases SET last_hash = :h WHERE case_no = :no"), {"h": head, "no": case_no})


def test_an_edit_recomputed_as_an_unkeyed_sha256_chain_is_caught(rt):
    case_no = decided_case(rt)
    with rt.engine.begin() as conn:
        unguard(conn, rt)
        rows = conn.execute(text("SELECT e.seq, e.action, e.from_state, e.to_state, e.actor, e.role, e.at, "
                                 "e.comment, e.prev_hash FROM events e JOIN cases c ON c.id = e.case_id "
                                 "WHERE c.case_no = :no ORDER BY e.seq"), {"no": case_no}).all()
        # The old attack: rewrite the decision and recompute the (unkeyed) chain from there on.
        prev = conn.execute(text("SELECT hash FROM events WHERE seq = 2 AND case_id = "
                                 "(SELECT id FROM cases WHERE case_no = :no)"), {"no": case_no}).scalar_one()
        when = rows[2].at if isinstance(rows[2].at, datetime) else datetime.fromisoformat(str(rows[2].at))
        forged = legacy_event_hash(prev, case_no, 3, "decide", "under_review", "decided", HANDLER.user,
                                   HANDLER.role, when, None, {"outcome": "不予公开"})
        conn.execute(text("UPDATE events SET fields = :f, hash = :h, chain_alg = NULL, key_id = NULL "
                          "WHERE seq = 3 AND case_id = (SELECT id FROM cases WHERE case_no = :no)"),
                     {"f": json.dumps({"outcome": "不予公开"}, ensure_ascii=False), "h": forged,
                      "no": case_no})
        repoint(conn, case_no, forged)
    report = verify_all(rt)
    assert (report.first_break.case_no, report.first_break.seq) == (case_no, 3)
    assert "downgraded" in report.first_break.reason


def test_deleting_the_last_event_and_repointing_the_head_is_caught_by_the_checkpoint(rt):
    case_no = decided_case(rt)
    write_checkpoint(rt)
    assert verify_all(rt).ok
    with rt.engine.begin() as conn:
        unguard(conn, rt)
        conn.execute(text("DELETE FROM events WHERE seq = 3 AND case_id = "
                          "(SELECT id FROM cases WHERE case_no = :no)"), {"no": case_no})
        head = conn.execute(text("SELECT hash FROM events WHERE seq = 2 AND case_id = "
                                 "(SELECT id FROM cases WHERE case_no = :no)"), {"no": case_no}).scalar_one()
        conn.execute(text("UPDATE cases SET last_seq = 2, version = 2, last_hash = :h, state = 'under_review'"
                          " WHERE case_no = :no"), {"h": head, "no": case_no})
    report = verify_all(rt)
    assert not report.ok
    assert report.first_break.case_no == case_no and "checkpoint #1 sealed #3" in report.first_break.reason


def test_a_tail_rewritten_by_someone_holding_the_key_is_caught_by_the_checkpoint(rt):
    case_no = decided_case(rt)
    write_checkpoint(rt)
    with rt.engine.begin() as conn:
        unguard(conn, rt)
        event = dict(conn.execute(text("SELECT e.* FROM events e JOIN cases c ON c.id = e.case_id "
                                       "WHERE c.case_no = :no AND e.seq = 3"),
                                  {"no": case_no}).mappings().one())
        event.pop("id"), event.pop("case_id")
        event["at"] = at("2026-03-04")
        event["fields"] = json.dumps({"outcome": "不予公开"}, ensure_ascii=False)
        forged = seal_event(rt.keyring, event, case_no)
        conn.execute(text("UPDATE events SET fields = :f, hash = :h WHERE seq = 3 AND case_id = "
                          "(SELECT id FROM cases WHERE case_no = :no)"),
                     {"f": event["fields"], "h": forged, "no": case_no})
        repoint(conn, case_no, forged)
    report = verify_all(rt)
    assert (report.first_break.case_no, report.first_break.seq) == (case_no, 3)
    assert "rewritten" in report.first_break.reason


def test_a_case_deleted_after_a_checkpoint_is_named(rt):
    keep, gone = decided_case(rt), decided_case(rt)
    write_checkpoint(rt)
    with rt.engine.begin() as conn:
        unguard(conn, rt)
        conn.execute(text("DELETE FROM events WHERE case_id = (SELECT id FROM cases WHERE case_no = :no)"),
                     {"no": gone})
        conn.execute(text("DELETE FROM outbox WHERE case_no = :no"), {"no": gone})
        conn.execute(text("DELETE FROM cases WHERE case_no = :no"), {"no": gone})
    report = verify_all(rt)
    assert [b.case_no for b in report.breaks] == [gone] and "gone" in report.breaks[0].reason
    assert keep != gone


@pytest.mark.parametrize(("column", "value", "field"), [
    ("state", "'completed'", "state"),
    ("version", "7", "version"),
    ("clock_running", "false", "clock_running"),
    ("statutory_due", "'2026-12-31'", "statutory_due"),
    ("promised_used", "3", "promised_used"),
])
def test_an_edit_of_the_case_row_is_named_with_its_field(rt, column, value, field):
    case_no = decided_case(rt)
    if rt.engine.dialect.name == "sqlite" and value == "false":
        value = "0"
    with rt.engine.begin() as conn:
        conn.execute(text(f"UPDATE cases SET {column} = {value} WHERE case_no = :no"), {"no": case_no})
    report = verify_all(rt)
    assert report.breaks == []
    assert [(m.case_no, m.field) for m in report.mismatches] == [(case_no, field)]


def test_an_edit_of_the_applicant_in_the_case_row_breaks_the_sealed_first_event(rt):
    case_no = decided_case(rt)
    with rt.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET applicant_phone = '13800000000' WHERE case_no = :no"),
                     {"no": case_no})
    report = verify_all(rt)
    assert (report.first_break.case_no, report.first_break.seq) == (case_no, 1)
    assert "applicant" in report.first_break.reason


def test_a_corrupt_state_is_a_clear_error_on_the_case_page_and_in_the_worklist_never_a_key_error(rt):
    from gkflow.services.accounts import Account

    case_no = decided_case(rt)
    with rt.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET state = 'hacked' WHERE case_no = :no"), {"no": case_no})
    with pytest.raises(CorruptRecord, match=f"case {case_no}: its state 'hacked' is not a state"):
        show_case(rt, case_no)
    with pytest.raises(CorruptRecord):
        fire(rt, case_no, "deliver", CLERK, occurred_at=at("2026-03-05"))
    admin = Account(username="admin", display_name="管理员", roles=("admin",), department=None,
                    password_hash="")
    [entry] = [e for e in search_cases(rt, admin).items if e.case_no == case_no]
    assert entry.state_label == "记录异常，请核查"
    [mismatch] = verify_all(rt).mismatches
    assert (mismatch.case_no, mismatch.field, mismatch.stored, mismatch.history) == (
        case_no, "state", "hacked", "decided")


def test_checkpoints_are_signed_kept_private_and_only_their_roots_published(rt):
    case_no = decided_case(rt)
    first = write_checkpoint(rt)
    second = write_checkpoint(rt)
    folder = checkpoint_dir(rt.settings)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "000001.heads.json").stat().st_mode) == 0o600
    heads = json.loads((folder / "000002.heads.json").read_text())
    assert [h[0] for h in heads] == [case_no] and heads[0][1] == 3
    assert second["previous"] and second["cases"] == 1 and second["events"] == 3
    assert first["signature"]["alg"] == "ed25519"
    site = publish_roots(rt)
    published = json.loads((site / "checkpoints.json").read_text())
    assert [p["root"] for p in published] == [first["root"], second["root"]]
    for path in site.iterdir():
        assert case_no not in path.read_text(), path  # case numbers are half a look-up credential
    assert (site / f"{first['signature']['key_id']}.pem").read_text().startswith("-----BEGIN PUBLIC KEY")


def test_a_forged_checkpoint_is_refused(rt):
    decided_case(rt)
    write_checkpoint(rt)
    path = checkpoint_dir(rt.settings) / "000001.json"
    statement = json.loads(path.read_text())
    statement["events"] = 1
    path.write_text(json.dumps(statement))
    report = verify_all(rt)
    assert "signature does not match" in report.first_break.reason


def test_a_missing_key_is_an_error_never_a_built_in_default(rt, tmp_path):
    keyless = with_settings(rt, var_dir=tmp_path / "elsewhere")
    with pytest.raises(InvalidConfig, match="no chain key"):
        submit_case(keyless, "gov-info-request", Applicant("张三", "13912345678"),
                    fields={"requested_information": "x"})
    with pytest.raises(InvalidConfig, match="no checkpoint signing key"):
        write_checkpoint(keyless)
    assert not (tmp_path / "elsewhere" / "audit").exists()


def test_a_rotated_key_seals_new_events_and_the_retired_one_still_verifies(rt):
    case_no = decided_case(rt)
    key_id = rotate_key(rt.settings)
    rotated = with_settings(rt)  # a restarted process reads the key file again
    fire(rotated, case_no, "deliver", CLERK, occurred_at=at("2026-03-05"))
    with rt.engine.connect() as conn:
        ids = conn.execute(text("SELECT key_id FROM events ORDER BY seq")).scalars().all()
    assert ids == ["k1", "k1", "k1", key_id] and key_id == "k2"
    assert verify_all(rotated).ok


def _insert_legacy_case(rt: Runtime, case_no: str) -> None:
    """A case as gkflow wrote it before the keyed chain (chain_alg NULL)."""
    received = at("2026-03-02")
    h1 = legacy_event_hash(GENESIS_HASH, case_no, 1, "submit", None, "received", "applicant", "applicant",
                           received, None, {"requested_information": "x"})
    from gkflow.db.case_rows import cases_t, events_t

    with rt.engine.begin() as conn:
        case_id = conn.execute(cases_t.insert().values(
            case_no=case_no, query_hash="x", item_code="gov-info-request", item_version=2,
            department="格尔木市人民政府办公室", state="received", version=1, applicant_name="旧",
            fields=json.dumps({"requested_information": "x"}, ensure_ascii=False), received_at=received,
            received_on=received.date(), statutory_days=20, statutory_anchor=received.date(),
            promised_days=15, promised_anchor=received.date(),
            statutory_due=datetime(2026, 3, 30).date(), promised_due=datetime(2026, 3, 23).date(),
            step_entered_on=received.date(), step_due=datetime(2026, 3, 11).date(),
            last_seq=1, last_hash=h1, updated_at=received).returning(cases_t.c.id)).scalar_one()
        conn.execute(events_t.insert().values(
            case_id=case_id, seq=1, action="submit", from_state=None, to_state="received", actor="applicant",
            role="applicant", at=received, comment=None,
            fields=json.dumps({"requested_information": "x"}, ensure_ascii=False),
            prev_hash=GENESIS_HASH, hash=h1))


def test_unkeyed_chains_stay_verifiable_and_the_first_checkpoint_seals_them(rt):
    _insert_legacy_case(rt, "GK20260302-OLD001")
    report = verify_all(rt)
    assert report.ok and report.unsealed_legacy_events == 1
    write_checkpoint(rt)
    assert verify_all(rt).ok and verify_all(rt).unsealed_legacy_events == 0
    fire(rt, "GK20260302-OLD001", "accept", CLERK, occurred_at=at("2026-03-03"))  # keyed from here on
    assert verify_all(rt).ok
    # an unkeyed case that appears after the checkpoint is not believed
    _insert_legacy_case(rt, "GK20260302-OLD002")
    report = verify_all(rt)
    assert [(b.case_no, b.seq) for b in report.breaks] == [("GK20260302-OLD002", 1)]
    assert "after the checkpoint" in report.breaks[0].reason
