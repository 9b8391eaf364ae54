"""Bearer-token check for the webhook: constant time, no I/O.

Alertmanager's `http_config.authorization` sends `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac

__all__ = ["bearer_matches"]

_SCHEME = "bearer "


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries exactly `token` (scheme case-insensitive).

    The comparison takes the same time wherever the first differing byte is, so the
    answer's timing does not reveal how much of a guess was right.
    """
    if header is None or header[: len(_SCHEME)].lower() != _SCHEME:
        return False
    return hmac.compare_digest(header[len(_SCHEME) :].strip().encode(), token.encode())
