"""One settings class: GKFLOW_* environment variables, optional .env (DESIGN.md section 5)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GKFLOW_", env_file=".env", extra="ignore", frozen=True
    )

    var_dir: Path = Path("./var")
    database_url: str | None = None
    config_dir: Path = Path("./config")
    timezone: str = "Asia/Shanghai"
    # Share of a time limit used before the yellow warning (红黄牌预警).
    yellow_share: float = Field(default=0.8, gt=0, lt=1)
    # Where applicants look their case up; notices link here (without the query code).
    public_base_url: str = "http://127.0.0.1:8000"
    hotline: str = "12345"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'gkflow.db').resolve()}"

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def items_dir(self) -> Path:
        return self.config_dir / "items"
