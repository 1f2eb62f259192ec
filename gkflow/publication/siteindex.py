"""The site's column page (栏目) and each period's version history, rebuilt from the ledger."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from gkflow.publication import ledger
from gkflow.publication.config import PublicationConfig
from gkflow.publication.rendering import environment
from gkflow.publication.targets import Location, SiteTarget
from gkflow.runtime import Runtime


def _write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)


def _local(rt: Runtime, at: Any) -> str:
    return at.astimezone(rt.settings.tz).strftime("%Y-%m-%d %H:%M") if at else ""


def rebuild_site_index(rt: Runtime, config: PublicationConfig) -> None:
    site = SiteTarget(config.site_dir)
    entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    versions: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in ledger.rows(rt):
        key = (row["task"], row["subject"], row["period"])
        if row["status"] in (ledger.PUBLISHED, ledger.SUPERSEDED):
            versions[key].append(row)
        if row["status"] != ledger.PUBLISHED:
            continue
        edition = len(versions[key])  # rows come in version order; failed attempts are no edition
        published_on = ledger.published_on(rt, row["published_at"])
        label = f"{row['subject']} {row['period']}" if row["subject"] else row["period"]
        entries[row["task"]].append({
            "href": site.url_path(Location(*key)), "label": label,
            "formed_on": row["formed_on"].isoformat(), "due_on": row["due_on"].isoformat(),
            "published_at": _local(rt, row["published_at"]), "version": edition,
            "on_time": published_on is not None and published_on <= row["due_on"],
        })
    sections: list[dict[str, Any]] = [
        {"title": config.tasks[task].title if task in config.tasks else task,
         "entries": sorted(items, key=lambda e: e["label"], reverse=True)}
        for task, items in sorted(entries.items())
    ]
    _write_atomically(config.site_dir / "index.html",
                      environment().get_template("site-index.html").render(sections=sections))
    for key, rows in versions.items():
        lines = [f"<li><a href='v{r['version']}/'>第{n}版</a> "
                 f"{_local(rt, r['published_at'])}（{_state(r['status'])}）"
                 f" sha256 {r['content_hash']}</li>" for n, r in enumerate(rows, 1)]
        _write_atomically(
            site.period_dir(Location(*key)) / "versions" / "index.html",
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>历史版本</title>"
            f"<h1>{key[0]} {key[1]} {key[2]} 历史版本</h1><ul>{''.join(lines)}</ul></html>",
        )


def _state(status: str) -> str:
    return "现行" if status == ledger.PUBLISHED else "已更正"
