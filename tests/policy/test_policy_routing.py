"""Categorizer and send connector selection (docs/exchange-reference.md §4.1, §9)."""

from __future__ import annotations

import pytest
from policy_helpers import adatum, send_connector

from labsim.model.enums import DeliveryType
from labsim.policy.routing import ResolutionKind, categorize, select_send_connector


@pytest.mark.parametrize(
    ("recipient", "kind", "reply"),
    [
        ("april@adatum.com", ResolutionKind.LOCAL, None),
        ("APRIL@Adatum.com", ResolutionKind.LOCAL, None),
        (
            "nobody@adatum.com",
            ResolutionKind.NOT_FOUND,
            "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
        ),
        ("ben@treyresearch.net", ResolutionKind.REMOTE, None),
    ],
)
def test_categorize(recipient: str, kind: ResolutionKind, reply: str | None) -> None:
    resolution = categorize(adatum(), recipient)
    assert resolution.kind is kind
    assert (str(resolution.reply) if resolution.reply else None) == reply
    assert resolution.explanation.startswith("categorizer:")


def test_categorize_rejects_non_address() -> None:
    with pytest.raises(ValueError, match="not an SMTP address"):
        categorize(adatum(), "ben")


def test_most_specific_address_space_wins_over_cost() -> None:
    org = adatum(
        send_connector("Internet", "*;1"),
        send_connector("Trey subdomains", "*.treyresearch.net;1"),
        send_connector("To TreyResearch", "treyresearch.net;50"),
    )
    decision = select_send_connector(org, "treyresearch.net", "ADATUM-MBX1")
    assert decision.connector is not None and decision.connector.name == "To TreyResearch"
    assert "SMTP:treyresearch.net;50" in decision.explanation
    assert "next best 'Trey subdomains'" in decision.explanation
    # Other domains fall back on the wildcard.
    other = select_send_connector(org, "fabrikam.com", "ADATUM-MBX1")
    assert other.connector is not None and other.connector.name == "Internet"


def test_lowest_cost_then_name() -> None:
    org = adatum(
        send_connector("B expensive", "treyresearch.net;20"),
        send_connector("C cheap", "treyresearch.net;5"),
        send_connector("A cheap", "treyresearch.net;5"),
    )
    decision = select_send_connector(org, "treyresearch.net", "adatum-mbx1.adatum.com")
    assert decision.connector is not None and decision.connector.name == "A cheap"
    assert len(decision.candidates) == 3 and all(c.eligible for c in decision.candidates)


def test_connector_sourced_elsewhere_is_reached_by_relay() -> None:
    # Exchange picks the connector across the organization; ADATUM-MBX1 does not source the
    # winner, so it relays to ADATUM-MBX2 (the issue-13 reproducer, as plain data).
    org = adatum(
        send_connector(
            "From MBX2 only", "treyresearch.net;1", source_transport_servers=("ADATUM-MBX2",)
        ),
        send_connector("Disabled", "treyresearch.net;1", enabled=False),
        send_connector("Internet", "*;10"),
    )
    decision = select_send_connector(org, "treyresearch.net", "ADATUM-MBX1")
    assert decision.connector is not None and decision.connector.name == "From MBX2 only"
    assert decision.relays
    hop = decision.next_hop
    assert hop is not None
    assert hop.delivery_type is DeliveryType.SMTP_RELAY_TO_CONNECTOR_SOURCE_SERVERS
    assert hop.next_hop_domain == "From MBX2 only"
    assert hop.source_servers == ("ADATUM-MBX2",)
    assert hop.port == 2525 and hop.tls_domain is None
    assert hop.tracking_connector_id == "Intra-Organization SMTP Send Connector"
    assert "ADATUM-MBX1 is not in its SourceTransportServers" in decision.explanation
    assert "relay to ADATUM-MBX2 (SmtpRelayToConnectorSourceServers" in decision.explanation
    reasons = {c.name: c.excluded_because for c in decision.candidates}
    assert reasons == {"From MBX2 only": None, "Disabled": "disabled", "Internet": None}
    # The source server itself uses the connector directly.
    mbx2 = select_send_connector(org, "treyresearch.net", "ADATUM-MBX2")
    assert mbx2.connector is not None and mbx2.connector.name == "From MBX2 only"
    assert not mbx2.relays and mbx2.next_hop is not None
    assert mbx2.next_hop.delivery_type is DeliveryType.DNS_CONNECTOR_DELIVERY
    assert mbx2.next_hop.tracking_connector_id == "From MBX2 only"


def test_local_connector_of_equal_rank_is_preferred() -> None:
    # Same address space, same cost: the connector the routing server sources wins, whatever
    # the names say; a lower cost elsewhere still wins over proximity.
    org = adatum(
        send_connector("A remote", "treyresearch.net;5", source_transport_servers=("ADATUM-MBX2",)),
        send_connector("B local", "treyresearch.net;5"),
    )
    decision = select_send_connector(org, "treyresearch.net", "ADATUM-MBX1")
    assert decision.connector is not None and decision.connector.name == "B local"
    assert not decision.relays
    assert "next best 'A remote'" in decision.explanation
    cheaper = adatum(
        send_connector("A remote", "treyresearch.net;4", source_transport_servers=("ADATUM-MBX2",)),
        send_connector("B local", "treyresearch.net;5"),
    )
    decision = select_send_connector(cheaper, "treyresearch.net", "ADATUM-MBX1")
    assert decision.connector is not None and decision.connector.name == "A remote"
    assert decision.relays


def test_disabled_remote_connector_is_not_relayed_to() -> None:
    org = adatum(
        send_connector(
            "Partner",
            "treyresearch.net;1",
            source_transport_servers=("ADATUM-MBX2",),
            enabled=False,
        ),
        send_connector("Internet", "*;10"),
    )
    decision = select_send_connector(org, "treyresearch.net", "ADATUM-MBX1")
    assert decision.connector is not None and decision.connector.name == "Internet"
    assert not decision.relays


def test_relay_lists_every_other_source_server_in_order() -> None:
    org = adatum(
        send_connector(
            "Partner",
            "treyresearch.net;1",
            source_transport_servers=("adatum-mbx2.adatum.com", "ADATUM-CAS1"),
        ),
    )
    decision = select_send_connector(org, "treyresearch.net", "ADATUM-MBX1")
    assert decision.next_hop is not None
    assert decision.next_hop.source_servers == ("ADATUM-MBX2", "ADATUM-CAS1")
    # A source server routing for itself never relays to itself, even when others source it.
    both = adatum(
        send_connector(
            "Partner", "treyresearch.net;1", source_transport_servers=("ADATUM-MBX2", "ADATUM-MBX1")
        ),
    )
    for server in ("ADATUM-MBX1", "adatum-mbx2.adatum.com"):
        direct = select_send_connector(both, "treyresearch.net", server)
        assert not direct.relays


def test_connector_without_source_servers_is_not_eligible() -> None:
    org = adatum(send_connector("Orphan", "treyresearch.net;1", source_transport_servers=()))
    decision = select_send_connector(org, "treyresearch.net", "ADATUM-MBX1")
    assert decision.unreachable
    assert decision.candidates[0].excluded_because == "no SourceTransportServers"


def test_dns_routed_next_hop_carries_tls_domain_when_listed() -> None:
    decision = select_send_connector(adatum(send_connector()), "TreyResearch.net", "ADATUM-MBX1")
    hop = decision.next_hop
    assert hop is not None
    assert hop.next_hop_domain == "treyresearch.net"
    assert hop.delivery_type is DeliveryType.DNS_CONNECTOR_DELIVERY
    assert hop.tls_domain == "treyresearch.net"
    unlisted = select_send_connector(
        adatum(send_connector(), send_list=()), "treyresearch.net", "ADATUM-MBX1"
    )
    assert unlisted.next_hop is not None and unlisted.next_hop.tls_domain is None


def test_smart_host_next_hop_has_no_tls_domain() -> None:
    connector = send_connector(
        dns_routing_enabled=False, smart_hosts=("Relay1.adatum.com", "127.0.0.5")
    )
    decision = select_send_connector(adatum(connector), "treyresearch.net", "ADATUM-MBX1")
    hop = decision.next_hop
    assert hop is not None
    assert hop.next_hop_domain == "relay1.adatum.com,[127.0.0.5]"
    assert hop.delivery_type is DeliveryType.SMART_HOST_CONNECTOR_DELIVERY
    assert hop.tls_domain is None
    assert "§4.1.3" in decision.explanation


def test_no_connector_is_unreachable() -> None:
    decision = select_send_connector(adatum(send_connector()), "fabrikam.com", "ADATUM-MBX1")
    assert decision.unreachable and decision.next_hop is None
    assert str(decision.reply) == (
        "550 5.4.4 ROUTING.NoConnectorForAddressType; unable to route for address type"
    )
    assert "Unreachable queue" in decision.explanation
    assert decision.candidates[0].excluded_because == "no address space covers fabrikam.com"


def test_deeper_wildcard_beats_shallower() -> None:
    org = adatum(
        send_connector("Contoso", "*.contoso.com;1"),
        send_connector("Contoso EU", "*.eu.contoso.com;9"),
    )
    decision = select_send_connector(org, "x.eu.contoso.com", "ADATUM-MBX1")
    assert decision.connector is not None and decision.connector.name == "Contoso EU"
