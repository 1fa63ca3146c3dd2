from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pumpurs.settings import Language, Settings, SmtpTls


def test_defaults_are_the_embedded_ones(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'pumpurs.db'}"
    assert settings.effective_inbox_dir == tmp_path / "inbox"
    assert settings.language == Language.LV
    assert settings.smtp_tls == SmtpTls.NONE


def test_environment_names_are_the_documented_interface(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    values = {
        "PUMPURS_DATABASE_URL": "postgresql+psycopg://u@db/pumpurs",
        "PUMPURS_SMTP_HOST": "smtp.example",
        "PUMPURS_SMTP_PORT": "587",
        "PUMPURS_SMTP_USER": "mailer",
        "PUMPURS_SMTP_PASSWORD": "s3cret",
        "PUMPURS_SMTP_TLS": "starttls",
        "PUMPURS_MAIL_FROM": "pumpurs@ikvd.example",
        "PUMPURS_BASE_URL": "https://pumpurs.example",
        "PUMPURS_SECRET_KEY": "k" * 40,
        "PUMPURS_LANGUAGE": "en",
        "PUMPURS_CONFIG_DIR": str(tmp_path / "conf"),
        "PUMPURS_INBOX_DIR": str(tmp_path / "in"),
        "PUMPURS_PREFECT_UI_URL": "https://prefect.example/",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.effective_database_url == values["PUMPURS_DATABASE_URL"]
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_user) == (
        "smtp.example",
        587,
        "mailer",
    )
    assert (
        settings.smtp_password is not None and settings.smtp_password.get_secret_value() == "s3cret"
    )
    assert "s3cret" not in repr(settings)
    assert settings.smtp_tls == SmtpTls.STARTTLS and settings.language == Language.EN
    assert settings.signing_key() == "k" * 40
    assert settings.config_dir == tmp_path / "conf"
    assert settings.effective_inbox_dir == tmp_path / "in"
    assert settings.prefect_ui_url == "https://prefect.example"


def test_the_prefect_ui_address_is_a_web_address_or_nothing() -> None:
    assert Settings(_env_file=None, prefect_ui_url="").prefect_ui_url is None
    with pytest.raises(ValueError, match="http"):
        Settings(_env_file=None, prefect_ui_url="javascript:alert(1)")


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "PUMPURS_LANGUAGE=en\nPUMPURS_SMTP_PORT=2525\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.language == Language.EN and settings.smtp_port == 2525


def test_secret_key_is_created_once_and_kept_private(tmp_path: Path) -> None:
    first = Settings(_env_file=None, var_dir=tmp_path / "var").signing_key()
    second = Settings(_env_file=None, var_dir=tmp_path / "var").signing_key()
    assert first == second and len(first) >= 40
    mode = (tmp_path / "var" / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    other = Settings(_env_file=None, var_dir=tmp_path / "other").signing_key()
    assert other != first
