"""Signed values (links, form tokens): accepted only as spelled when they were signed."""

from __future__ import annotations

from itsdangerous import BadData
from itsdangerous.encoding import base64_decode, base64_encode


def canonical_signature(value: str) -> bool:
    """Return whether a signed value's signature is spelled the one way we write it.

    The last base64 character of a signature carries bits no byte uses, and decoding ignores
    them: without this check four spellings of every link (and CSRF token) would be accepted.
    """
    signature = value.rsplit(".", 1)[-1]
    try:
        return base64_encode(base64_decode(signature)).decode("ascii") == signature
    except BadData:
        return False
