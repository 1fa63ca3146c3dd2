"""CSRF tokens: a signed, short-lived value bound to the page's link and purpose.

Mail scanners and link previews only GET; a decision needs a POST carrying the token the
page itself rendered, so nothing but the page's own buttons can decide.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from pumpurs.settings import Settings
from pumpurs.signing import canonical_signature

SALT = "pumpurs.csrf"
MAX_AGE_SECONDS = 12 * 3600  # a page left open over night must be opened again


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_key(), salt=SALT)


def issue(settings: Settings, scope: str, purpose: str) -> str:
    """Return a token for forms on the page of `scope` (a link nonce or an approver)."""
    return str(_signer(settings).dumps({"s": scope, "p": purpose}))


def is_valid(settings: Settings, token: str, scope: str, purpose: str) -> bool:
    """Return whether a posted token was issued for this scope and purpose, and is fresh."""
    if not token or len(token) > 512 or not canonical_signature(token):
        return False
    try:
        payload: Any = _signer(settings).loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:
        return False
    return isinstance(payload, dict) and payload == {"s": scope, "p": purpose}
