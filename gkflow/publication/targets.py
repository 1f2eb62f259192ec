"""Publishing targets: the static site folder (served under /gk/) and a CMS over HTTP.

The site keeps every version of a period under ``versions/vN/`` and a ``current`` symlink naming
the one in force; switching versions is a single ``rename`` of the link, so a reader sees either
the old version or the new one, never a mixture.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkflow.domain.errors import GkflowError
from gkflow.publication.config import CmsConfig


class TargetFailed(GkflowError):
    code = "invalid_input"


@dataclass(frozen=True)
class Location:
    task: str
    subject: str
    period: str

    @property
    def parts(self) -> tuple[str, ...]:
        return (self.task, self.subject, self.period) if self.subject else (self.task, self.period)


class SiteTarget:
    name = "site"

    def __init__(self, root: Path) -> None:
        self.root = root

    def period_dir(self, where: Location) -> Path:
        return self.root.joinpath(*where.parts)

    def url_path(self, where: Location) -> str:
        return "/".join(where.parts) + "/"

    def stage(self, where: Location, version: int, files: dict[str, bytes]) -> Path:
        """Write version ``version`` next to the current one; readers do not see it yet."""
        target = self.period_dir(where) / "versions" / f"v{version}"
        if target.exists():
            shutil.rmtree(target)  # left by an attempt that died before recording itself
        staging = target.with_name(f".v{version}.tmp")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        for name, content in files.items():
            (staging / name).write_bytes(content)
        os.replace(staging, target)
        return target

    def switch(self, where: Location, version: int) -> dict[str, Any]:
        period_dir = self.period_dir(where)
        link = period_dir / "current"
        tmp = period_dir / f".current.{os.getpid()}.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(f"versions/v{version}", tmp)
        os.replace(tmp, link)
        return {"ok": True, "path": self.url_path(where), "version": version}

    def current_version(self, where: Location) -> int | None:
        link = self.period_dir(where) / "current"
        if not link.is_symlink():
            return None
        return int(os.readlink(link).rsplit("/v", 1)[1])


class CmsTarget:
    """POSTs the page and its data to the CMS; the CMS answers with its own id (the receipt)."""

    name = "cms"

    def __init__(self, config: CmsConfig) -> None:
        self.config = config

    def publish(self, where: Location, version: int, title: str, files: dict[str, bytes],
                content_hash: str) -> dict[str, Any]:
        import requests

        headers = {"Idempotency-Key": f"{where.task}/{where.subject}/{where.period}/{content_hash}"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        body = {
            "task": where.task, "subject": where.subject, "period": where.period, "version": version,
            "title": title, "content_hash": content_hash,
            "html": files["index.html"].decode("utf-8"),
            "data_json": files["data.json"].decode("utf-8"),
            "data_csv": files["data.csv"].decode("utf-8-sig"),
        }
        try:
            response = requests.post(self.config.url, json=body, headers=headers,
                                     timeout=self.config.timeout_seconds)
        except requests.RequestException as exc:
            raise TargetFailed(f"CMS {self.config.url} is unreachable: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise TargetFailed(f"CMS {self.config.url} answered HTTP {response.status_code}: "
                               f"{response.text[:200]}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        receipt = answer.get("id") if isinstance(answer, dict) else None
        return {"ok": True, "status": response.status_code, "receipt": receipt}
