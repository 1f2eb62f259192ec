"""One settings class: GKFLOW_* environment variables, optional .env (DESIGN.md section 5)."""

from __future__ import annotations

import ipaddress
import os
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GKFLOW_", env_file=".env", extra="ignore", frozen=True
    )

    var_dir: Path = Path("./var")
    database_url: str | None = None
    # None: the `config` folder of the source tree gkflow runs from (never the working directory,
    # so a command run from another folder does not silently miss calendar.yaml).
    config_dir: Path = Field(default_factory=lambda: _default_config_dir())
    timezone: str = "Asia/Shanghai"
    # Share of a time limit used before the yellow warning (红黄牌预警).
    yellow_share: float = Field(default=0.8, gt=0, lt=1)
    # Where applicants look their case up; notices link here (without the query code).
    public_base_url: str = "http://127.0.0.1:8000"
    hotline: str = "12345"
    # The shared secret the 12345 platform signs its work orders with (POST /api/intake/12345).
    hotline_secret: str | None = None
    # A CMS that receives every publication; overrides `cms.url` in config/publication.yaml.
    cms_url: str | None = None
    # The keyed chain of the history (办理记录): "ID:BASE64" (at least 32 random bytes). Unset: the
    # key file `chain.keys` in key_dir. Never stored in the database.
    chain_key: SecretStr | None = None
    # Retired chain keys that still verify older events: "ID:BASE64,ID:BASE64".
    chain_retired_keys: SecretStr | None = None
    # Where `gkflow init` (embedded) or `gkflow audit keygen` writes the keys; default var_dir/keys.
    key_dir: Path | None = None
    # Signature of the checkpoints: ed25519 (default) or sm2 (needs the `sm2` extra: tongsuopy).
    checkpoint_signature: str = Field(default="ed25519", pattern="^(ed25519|sm2)$")

    @property
    def keys_path(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.var_dir / "keys"

    @property
    def embedded(self) -> bool:
        """The embedded set-up: one machine on SQLite (PostgreSQL means the distributed one)."""
        return self.db_url.startswith("sqlite")
    # fsync every uploaded file before its row commits (decision: off by default, like SQLite's
    # synchronous=NORMAL commits; turn on with a database that syncs each commit).
    upload_fsync: bool = False
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed when
    # counting failed log-ins and look-ups per client. Empty: the socket peer is the client.
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"GKFLOW_TRUSTED_PROXIES: '{part.strip()}' is not an address "
                                     "or network (e.g. 10.0.0.5, 10.0.0.0/24)") from None
        return value

    @cached_property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p.strip(), strict=False)
                     for p in self.trusted_proxies.split(",") if p.strip())
    # `gkflow serve`: take part in electing the one process that runs the embedded scheduler
    # (`--no-scheduler` sets it false: a Prefect server schedules instead).
    embedded_scheduler: bool = True
    # The elected scheduler starts Prefect's local API at once (10-25 s) rather than on the first
    # notice's flow run; false defers it (less memory until the first run).
    prefect_warm_up: bool = True

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

    def prefixed_environment(self) -> dict[str, str]:
        """Every GKFLOW_* variable, from the process environment over those of ./.env.

        Delivery reads per-channel secrets with names made from its own config (for example
        GKFLOW_WEBHOOK_<TARGET>_SECRET), so they cannot all be fields here; this is still the one
        place that reads the environment. Read on each call: a test may change the environment.
        """
        values: dict[str, str] = {}
        env_file = self.model_config.get("env_file")
        if isinstance(env_file, str) and Path(env_file).is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ)
        return {k: v for k, v in values.items() if k.startswith("GKFLOW_")}

    def secret(self, name: str) -> str | None:
        """A secret named by a config file (e.g. the CMS token's variable), from the environment."""
        return self.prefixed_environment().get(name) or os.environ.get(name) or None


def _default_config_dir() -> Path:
    """`config/` beside the installed package's source tree (an editable or source install)."""
    return Path(__file__).resolve().parent.parent / "config"
