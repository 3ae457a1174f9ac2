"""The lab DNS over real UDP: answers from the lab zone, and every query socket on loopback."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from labsim.lab import Lab
from labsim.model.lab import default_lab
from labsim.reactor import wait_for


@pytest.fixture
def lab(tmp_path: Path) -> Any:
    started = Lab.start(default_lab(), cert_folder=tmp_path / "certs")
    try:
        yield started
    finally:
        started.stop()


def test_queries_leave_from_a_loopback_address_on_a_port_the_os_chose(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reactor = lab.world.reactor
    binds: list[tuple[int, str]] = []
    listen_udp = reactor.listenUDP

    def recording(port: int, protocol: Any, interface: str = "", **kwargs: Any) -> Any:
        binds.append((port, interface))
        return listen_udp(port, protocol, interface=interface, **kwargs)

    monkeypatch.setattr(reactor, "listenUDP", recording)
    targets = wait_for(reactor, lab.world.dns.resolve_mx("treyresearch.net"))

    assert [(t.host, t.address) for t in targets] == [("mail.treyresearch.net", "127.0.20.1")]
    assert binds, "the MX and A lookups went out over UDP"
    for port, interface in binds:
        # Twisted's default is a random port on 0.0.0.0, which leaks a socket when the port
        # is taken and listens on every interface.
        assert port == 0
        assert ipaddress.ip_address(interface) in ipaddress.ip_network("127.0.0.0/8")


def test_an_mx_host_sent_in_the_additional_section_needs_no_query_of_its_own(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reactor = lab.world.reactor
    dns = lab.world.dns
    asked: list[str] = []
    lookup_address = dns.resolver.lookupAddress

    def recording(name: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(name)
        return lookup_address(name, *args, **kwargs)

    monkeypatch.setattr(dns.resolver, "lookupAddress", recording)
    targets = wait_for(reactor, dns.resolve_mx("treyresearch.net"))
    # The lab server returns mail.treyresearch.net's A record with the MX answer.
    assert [(t.host, t.address) for t in targets] == [("mail.treyresearch.net", "127.0.20.1")]
    assert asked == []
    # The address is then known for the TTL, as if asked for (a smart host by that name).
    assert wait_for(reactor, dns.resolve_a("mail.treyresearch.net")) == "127.0.20.1"
    assert asked == []
    # A name with no MX falls back to its own A record, which is queried.
    assert wait_for(reactor, dns.resolve_mx("mail.adatum.com")) != []
    assert asked == ["mail.adatum.com"]
