"""What WAHA and the APIs that mirror it (Wasend) share: session states and path segments.

A WAHA session is one logged-in WhatsApp account; only a `WORKING` session can change pictures.
"""

from __future__ import annotations

from urllib.parse import quote

WORKING = "WORKING"
#: session states that need a person to log the WhatsApp account in again
NEEDS_LOGIN = frozenset({"SCAN_QR_CODE", "FAILED", "STOPPED"})

#: what each state means for the person who has to act on it; the state's name is in brackets
_STATE_WORDS = {
    "SCAN_QR_CODE": "waits for a QR code scan (SCAN_QR_CODE): someone must scan the QR code"
    " with WhatsApp on the account's phone",
    "STARTING": "is still starting (STARTING): try again in a minute",
    "STOPPED": "is stopped (STOPPED): start it again",
    "FAILED": "has failed (FAILED): restart it, and scan a new QR code if it asks for one",
    "PASSKEY_REQUIRED": "waits for a passkey (PASSKEY_REQUIRED): confirm the login on the phone",
    "PASSKEY_CONFIRMATION_REQUIRED": "waits for the passkey to be confirmed on the phone"
    " (PASSKEY_CONFIRMATION_REQUIRED)",
}


def session_state_words(status: object) -> str:
    """How "the session ..." goes on for a session that is not WORKING, naming its state."""
    if isinstance(status, str) and status in _STATE_WORDS:
        return _STATE_WORDS[status]
    shown = status if isinstance(status, str) and status else "unknown"
    return f"is in state {shown!r}, not WORKING"


def path_segment(value: str) -> str:
    """One URL path segment (`@` becomes `%40`, `/` cannot escape the segment)."""
    return quote(value, safe="")
