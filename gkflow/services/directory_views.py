"""The directory as the public pages, the open data and the CLI show it: each entry with its
elements, its latest publication and its punctuality, by area and by department."""

from __future__ import annotations

from datetime import date

from gkflow.domain.openness import Area
from gkflow.runtime import Runtime
from gkflow.services.directory_models import EntrySummary, EntryView, LedgerRowView, summary_of, view_of
from gkflow.services.openness import load_directory
from gkflow.services.openness_ledger import ledger, punctuality


def entry_summaries(rt: Runtime) -> list[EntrySummary]:
    """Every entry (its newest version), in directory order."""
    return [summary_of(e) for e in load_directory(rt.settings).entries()]


def areas(rt: Runtime) -> list[Area]:
    """The pilot areas, in file order."""
    return list(load_directory(rt.settings).areas)


def departments(rt: Runtime) -> list[str]:
    """Every responsible department."""
    return load_directory(rt.settings).departments()


def _latest(rows: list[LedgerRowView]) -> LedgerRowView | None:
    published = [r for r in rows if r.published_on is not None]
    return max(published, key=lambda r: (r.published_on or date.min, r.formed_on)) if published else None


def entry_views(
    rt: Runtime, *, area: str | None = None, department: str | None = None, today: date | None = None
) -> list[EntryView]:
    """Entries in force (newest versions), optionally of one area (file stem) or department."""
    directory = load_directory(rt.settings)
    chosen = [
        e
        for e in directory.entries()
        if (area is None or e.area_code == area) and (department is None or e.department == department)
    ]
    rows = ledger(rt, department=department, today=today) if chosen else []
    views = []
    for entry in chosen:
        own = [r for r in rows if r.entry == entry.code]
        versions = [v.version for v in directory.versions[entry.code]]
        views.append(view_of(entry, versions, _latest(own), punctuality(own)))
    return views


def entry_detail(
    rt: Runtime, code: str, *, version: int | None = None
) -> tuple[EntryView, list[LedgerRowView]]:
    """One entry (its newest version, or ``version``) and its whole ledger, newest first."""
    directory = load_directory(rt.settings)
    chain = directory.versions.get(code) or []
    entry = next((v for v in chain if v.version == version), None) if version else directory.latest(code)
    if entry is None:
        directory.latest(code)  # NotFound for an unknown code
        from gkflow.domain.errors import NotFound

        raise NotFound(f"directory entry '{code}' has no version {version}")
    rows = ledger(rt, entry=code)
    view = view_of(entry, [v.version for v in chain], _latest(rows), punctuality(rows))
    return view, sorted(rows, key=lambda r: (r.formed_on, r.subject), reverse=True)
