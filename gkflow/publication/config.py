"""`config/publication.yaml`: each publication task's source, department and targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkflow.config.files import read_mapping
from gkflow.delivery.staff import StaffNotices, staff_notices
from gkflow.domain.errors import InvalidConfig
from gkflow.settings import Settings

PUBLICATION_FILE = "publication.yaml"
SOURCE_TYPES = ("file", "http", "cases", "computed")


@dataclass(frozen=True)
class SourceConfig:
    type: str  # file | http | cases
    location: str = ""  # a path pattern or URL with {period} (and {subject}); the item code for cases
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class CmsConfig:
    url: str
    token: str | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class TaskConfig:
    name: str
    title: str
    department: str
    first_period: str
    source: SourceConfig
    cms: bool = True  # publish to the CMS too when one is configured


@dataclass(frozen=True)
class PublicationConfig:
    root: Path  # relative source paths are read from here (the project folder)
    site_dir: Path
    tasks: dict[str, TaskConfig]
    cms: CmsConfig | None
    staff: StaffNotices
    public_url: str  # where the site folder is served, for links in notices

    def task(self, name: str) -> TaskConfig:
        from gkflow.domain.errors import NotFound

        try:
            return self.tasks[name]
        except KeyError:
            raise NotFound(
                f"no publication task '{name}' (configured: {', '.join(sorted(self.tasks))})"
            ) from None

    def resolve(self, location: str) -> Path:
        path = Path(location)
        return path if path.is_absolute() else self.root / path


def load_publication_config(settings: Settings) -> PublicationConfig:
    path = settings.config_dir / PUBLICATION_FILE
    data = read_mapping(path, required_for="publication tasks are configured there")
    root = settings.config_dir.resolve().parent
    site_dir = Path(data["site_dir"]) if data.get("site_dir") else settings.var_dir / "site"
    tasks = {name: _task(path, name, spec) for name, spec in (data.get("tasks") or {}).items()}
    cms_spec = data.get("cms") or {}
    cms_url = settings.cms_url or cms_spec.get("url")
    cms = None
    if cms_url:
        token_env = str(cms_spec.get("token_env", "GKFLOW_CMS_TOKEN"))
        cms = CmsConfig(cms_url, settings.secret(token_env), float(cms_spec.get("timeout_seconds", 10)))
    staff = staff_notices(settings)
    public_url = f"{settings.public_base_url.rstrip('/')}/gk"
    return PublicationConfig(root, site_dir.resolve(), tasks, cms, staff, public_url)


def site_dir(settings: Settings) -> Path:
    """Where the published site lives (publication.yaml's ``site_dir``, else <var dir>/site); a
    missing publication.yaml is not an error here: the site is simply empty."""
    data = read_mapping(settings.config_dir / PUBLICATION_FILE)
    return (Path(data["site_dir"]) if data.get("site_dir") else settings.var_dir / "site").resolve()


def _task(path: Path, name: str, spec: Any) -> TaskConfig:
    from gkflow.publication.tasks import TASKS

    where = f"{path}: task '{name}'"
    if name not in TASKS:
        raise InvalidConfig(f"{where}: unknown task (known: {', '.join(sorted(TASKS))})")
    if not isinstance(spec, dict):
        raise InvalidConfig(f"{where}: expected a mapping")
    missing = [k for k in ("title", "department", "first_period", "source") if not spec.get(k)]
    if missing:
        raise InvalidConfig(f"{where}: missing {', '.join(missing)}")
    source = spec["source"]
    if not isinstance(source, dict) or source.get("type") not in SOURCE_TYPES:
        raise InvalidConfig(f"{where}: source.type must be one of {', '.join(SOURCE_TYPES)}")
    location = source.get("path") or source.get("url") or source.get("item") or ""
    if source["type"] == "computed":
        location = location or name  # the flow computes the rows (e.g. the scorecard service)
    if not location:
        raise InvalidConfig(f"{where}: source needs a path (file), url (http) or item (cases)")
    return TaskConfig(
        name=name, title=str(spec["title"]), department=str(spec["department"]),
        first_period=str(spec["first_period"]),
        source=SourceConfig(source["type"], str(location), float(source.get("timeout_seconds", 10))),
        cms=bool(spec.get("cms", True)),
    )
