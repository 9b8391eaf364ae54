"""`loadwatch serve receiver`: settings from flags and the environment, then serve.

Returns an exit code: 2 with one line on stderr for a bad setting or forwarding file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from receiver.destinations import ForwardConfig, ForwardConfigError, load_forward_config
from receiver.settings import ReceiverSettings, ReceiverSettingsError, token_from

if TYPE_CHECKING:
    from collector.sla import SLA

__all__ = ["run_receiver"]


def run_receiver(
    *,
    host: str,
    port: int | None,
    database_url: str | None,
    token: str | None,
    forward_config: Path | None,
    environ: Mapping[str, str],
    sla: SLA | None = None,
) -> int:
    """Serve the receiver until SIGINT/SIGTERM; 2 on bad settings."""
    try:
        settings = ReceiverSettings.build(
            token=token_from(token, environ), host=host, port=port, database_url=database_url
        )
        forward = load_forward_config(forward_config) if forward_config else ForwardConfig()
    except (ReceiverSettingsError, ForwardConfigError) as exc:
        print(f"loadwatch serve receiver: {exc}", file=sys.stderr)
        return 2
    from receiver.app import make_receiver_app
    from runtime.http import serve

    names = ", ".join(d.name for d in forward.destinations) or "none"
    print(f"receiver: storing into {settings.database_url}; forwarding to {names}", flush=True)
    app = make_receiver_app(settings, forward, sla=sla)
    serve(app, settings.host, settings.port, settings.shutdown_timeout_s)
    return 0
