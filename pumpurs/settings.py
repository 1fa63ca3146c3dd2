"""The one settings object, read from `PUMPURS_*` environment variables and an optional `.env`."""

from __future__ import annotations

import ipaddress
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SmtpTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


class Language(StrEnum):
    LV = "lv"
    EN = "en"


class Settings(BaseSettings):
    """Everything an operator can set; tests build it explicitly instead of patching the env."""

    model_config = SettingsConfigDict(
        env_prefix="PUMPURS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    var_dir: Path = Path("var")
    database_url: str | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: SmtpTls = SmtpTls.NONE
    smtp_timeout: float = Field(default=30.0, gt=0)
    smtp_retry_delays: list[float] = Field(default=[1.0, 3.0, 8.0])
    mail_from: str = "pumpurs@localhost"
    base_url: str = "http://127.0.0.1:8080"
    # Where people open the Prefect UI (the managers' dashboards); emails link to it when set.
    prefect_ui_url: str | None = None
    secret_key: SecretStr | None = None
    language: Language = Language.LV
    config_dir: Path = Path("config")
    inbox_dir: Path | None = None
    # Addresses (IPs or CIDR networks) of reverse proxies whose X-Forwarded-For the web app
    # believes; from anyone else the header is ignored and the audit records the peer's address.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):  # the environment's form: comma-separated
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {address!r}") from None
        return value

    # Whether schools of this deployment also reach the inbox as a shared folder: the emails
    # then name the folder beside the page.
    schools_shared_folder: bool = False

    @field_validator("prefect_ui_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to a SQLite file under the var directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'pumpurs.db').resolve()}"

    @property
    def effective_inbox_dir(self) -> Path:
        """Return the inbox folder, by default `<var>/inbox`."""
        return self.inbox_dir if self.inbox_dir is not None else self.var_dir / "inbox"

    @property
    def outbox_dir(self) -> Path:
        """Return where the local SMTP sink keeps every message as an .eml file."""
        return self.var_dir / "outbox"

    def signing_key(self) -> str:
        """Return the signing secret; create and keep one under the var directory if none is set."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # O_EXCL: two processes starting at once must agree on one key.
        try:
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(key)
            path.chmod(0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        return key


def get_settings() -> Settings:
    """Return settings read from the environment (and `.env`)."""
    return Settings()
