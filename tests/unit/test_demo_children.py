"""What the demo starts: every child gets the demo's SLA file, the receiver only with a
stack, and each child's flags point at the others' ports."""

from __future__ import annotations

from pathlib import Path

from loadwatch.demo import HUB, _command, _services

GENERATOR = "http://127.0.0.1:8999"


def test_every_child_gets_the_sla_file_and_its_port(tmp_path: Path) -> None:
    services = _services(tmp_path, receiver_token="t" * 32, generator_live_url=GENERATOR)
    urls = {s.name: f"http://127.0.0.1:{9000 + i}" for i, s in enumerate(services)}
    sla = tmp_path / "p99-500ms.yaml"
    commands = {s.name: _command(s, urls, sla) for s in services}
    assert sorted(commands) == ["campaign", "course", "receiver", "social", HUB]
    for name, argv in commands.items():
        serve = argv.index("serve")
        assert argv[serve + 1] == name
        assert argv[argv.index("--port") + 1] == urls[name].rsplit(":", 1)[1]
        assert argv[argv.index("--sla") + 1] == str(sla)
    campaign = commands["campaign"]
    assert campaign[campaign.index("--social-url") + 1] == urls["social"]
    receiver = next(s for s in services if s.name == "receiver")
    assert receiver.env == {"LOADWATCH_RECEIVER_TOKEN": "t" * 32}
    hub = commands[HUB]
    targets = [hub[i + 1] for i, flag in enumerate(hub) if flag == "--target"]
    assert targets == [urls["social"], urls["course"], urls["campaign"], GENERATOR]
    assert hub[hub.index("--receiver") + 1] == urls["receiver"]
    hub_service = next(s for s in services if s.name == HUB)
    assert hub_service.env == {"LOADWATCH_RECEIVER_TOKEN": "t" * 32}
    assert "t" * 32 not in hub  # the token travels in the environment, not in `ps`


def test_without_an_sla_file_or_a_stack(tmp_path: Path) -> None:
    services = _services(tmp_path, receiver_token=None, generator_live_url=GENERATOR)
    assert [s.name for s in services] == ["social", "course", "campaign", HUB]
    urls = {s.name: "http://127.0.0.1:9000" for s in services}
    assert all("--sla" not in _command(s, urls, None) for s in services)
    assert "--receiver" not in _command(services[-1], urls, None)
