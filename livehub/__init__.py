"""The stream hub: polls every target's /live/snapshot once a second, merges the snapshots
exactly (per service and in total), judges the SLA objectives and broadcasts one message a
second to websocket subscribers and the live page.

The pure parts are importable here; the server (`livehub.server`: `run_hub`, `serve_hub`)
is imported on demand so that nothing here starts I/O or pulls in the websockets library.
"""

from livehub.fanout import Fanout, Plan
from livehub.message import Status, TargetState, Tick, encode, text_frame
from livehub.state import HubState

__all__ = [
    "Fanout",
    "HubState",
    "Plan",
    "Status",
    "TargetState",
    "Tick",
    "encode",
    "text_frame",
]
