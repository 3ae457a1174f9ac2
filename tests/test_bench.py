"""Smoke tests of the benchmark helpers (bench/lib.py). They check that the cases measure what
they claim (mutual TLS, domain-secured delivery, a well-formed mesh); they never assert timings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import lib  # noqa: E402
from bench.lib import Target, summarize, verdict  # noqa: E402


def test_summarize_gives_median_min_max() -> None:
    assert summarize([3.0, 1.0, 2.0]) == {
        "median": 2.0,
        "min": 1.0,
        "max": 3.0,
        "runs": 3,
        "values": [3.0, 1.0, 2.0],
    }
    with pytest.raises(ValueError):
        summarize([])


def test_targets_and_verdicts() -> None:
    at_most = Target("<=", 0.5, "≤ 0.5 s")
    at_least = Target(">=", 1.5, "≥ 1.5 × floor")
    assert verdict(at_most, 0.4) == "met"
    assert verdict(at_most, 0.6) == "NOT MET"
    assert verdict(at_least, 1.5) == "met"
    assert verdict(at_least, None) == "n/a"
    assert verdict(None, 3.0) == "—"


def test_floor_handshake_is_mutual_tls_with_lab_key_types() -> None:
    endpoints = lib.floor_endpoints()
    negotiated = lib.check_floor_handshake(endpoints)
    assert negotiated["protocol"] == "TLSv1.2"
    assert "ECDSA" in negotiated["cipher"]
    rate, cpu_ms = lib.floor_rate(endpoints, 3)
    assert rate > 0 and cpu_ms > 0


def test_mesh_definition_is_a_full_domain_security_mesh() -> None:
    definition = lib.mesh_lab(4)
    orgs = [o.organization for o in definition.organizations]
    domains = {o.default_domain for o in orgs}
    addresses = [s.address for o in orgs for s in o.servers]
    assert len(set(addresses)) == len(addresses) == 8
    assert all(a.startswith("127.") and a != "127.0.53.53" for a in addresses)
    for org_def in definition.organizations:
        org = org_def.organization
        partners = domains - {org.default_domain}
        assert set(org.transport_config.tls_send_domain_secure_list) == partners
        assert set(org.transport_config.tls_receive_domain_secure_list) == partners
        assert len(org_def.extra_trusted_roots) == 3
        (send,) = org.send_connectors
        assert send.domain_secure_enabled and not send.frontend_proxy_enabled
        assert {a.address for a in send.address_spaces} == partners
        partner = [c for c in org.receive_connectors if c.name == "From partners"]
        assert partner and partner[0].domain_secure_enabled
        assert len(partner[0].remote_ip_ranges) == 3


def test_mesh_of_three_delivers_every_pair_domain_secured(tmp_path: Path) -> None:
    result = lib.mesh_run(3, tmp_path)
    assert result["error"] is None, result
    assert result["delivered"] == result["domain_secured"] == result["expected"] == 6


def test_throughput_lab_delivers_domain_secured_without_proxy(tmp_path: Path) -> None:
    run = lib.throughput_batch(tmp_path, 3)
    assert run.rate > 0 and run.cpu_ms > 0
    # Three messages share one Internet-hop session (warmed up before the timing: resumed) and
    # the Front End Transport's hop to the Mailbox server (resumed as well).
    assert run.full_handshakes == 0
    assert run.resumed_handshakes >= 1
