"""What `make serve-demo` serves: the demo's database, config and inbox, and a mail sink that
files new mail in var/outbox after the demo's."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from pumpurs.app.demo.world import demo_world, environment
from pumpurs.errors import UserError
from pumpurs.settings import Settings


def _base(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, var_dir=tmp_path / "var", smtp_host="smtp.example.lv",
                    smtp_port=587, smtp_user="mailer", smtp_tls="starttls")  # fmt: skip


def test_without_a_demo_it_says_to_run_make_demo(tmp_path: Path) -> None:
    with pytest.raises(UserError) as refused, demo_world(_base(tmp_path), "127.0.0.1", 8080):
        pass
    assert "make demo" in refused.value.render("lv") and "pumpurs.db" in str(refused.value)


def test_the_demos_world_with_mail_filed_after_the_demos(tmp_path: Path) -> None:
    base = _base(tmp_path)
    (base.var_dir / "demo").mkdir(parents=True)
    (base.var_dir / "demo" / "pumpurs.db").write_bytes(b"")
    base.outbox_dir.mkdir()
    (base.outbox_dir / "000126.eml").write_bytes(b"the demo's last message")
    with demo_world(base, "127.0.0.1", 8081) as (settings, sink):
        assert settings.effective_database_url.endswith("/var/demo/pumpurs.db")
        assert settings.config_dir == base.var_dir / "demo" / "data" / "config"
        assert settings.effective_inbox_dir == base.var_dir / "demo" / "data" / "inbox"
        assert settings.base_url == "http://127.0.0.1:8081"
        assert (settings.smtp_host, settings.smtp_port) == (sink.host, sink.port)
        again = Settings(_env_file=None, **{  # type: ignore[arg-type]
            name.removeprefix("PUMPURS_").lower(): value
            for name, value in environment(settings).items()})  # fmt: skip
        assert again.effective_database_url == settings.effective_database_url
        assert (again.smtp_host, again.smtp_port, again.smtp_tls) == (sink.host, sink.port, "none")
        assert not again.smtp_user and not again.smtp_password
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.example", "b@x.example", "Sveiki"
        message.set_content("Labdien!")
        with smtplib.SMTP(sink.host, sink.port) as client:
            client.send_message(message)
    assert sorted(p.name for p in base.outbox_dir.iterdir()) == ["000126.eml", "000127.eml"]
    assert (base.outbox_dir / "000126.eml").read_bytes() == b"the demo's last message"
