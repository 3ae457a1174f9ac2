"""Categorizer and router of a Mailbox server's Transport service (docs/exchange-reference.md §4.1,
§9).

Rules kept here:

* a recipient in an accepted domain is local: delivered if the mailbox exists, otherwise
  failed with ``550 5.1.1 RESOLVER.ADR.RecipNotFound`` (the categorizer's resolver);
* any other recipient is remote and routed through a send connector of the whole organization:
  enabled, with at least one source server, with an address space covering the domain; the most
  specific address space wins, then the lowest cost, then a connector the routing server sources
  itself (proximity), then the connector name (§4.1.7; the name only makes ties deterministic);
* the next hop of a DNS-routed connector is the recipient domain; of a smart-host connector the
  smart-host list. Domain Security is keyed on that next hop domain (§4.1.3), which is why a
  smart-host connector silently never enforces it: ``TlsDomain`` is only set for DNS routing;
* when the routing server is not among the chosen connector's SourceTransportServers, the next
  hop is a relay to those servers' Transport service (DeliveryType
  ``SmtpRelayToConnectorSourceServers``, NextHopDomain = the connector's name): an
  intra-organization hop; the source server routes the message again and sends it through the
  connector itself (docs/fidelity.md, "Relay to a connector's source servers").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from labsim.model.connectors import SendConnector
from labsim.model.enums import DeliveryType
from labsim.model.organization import Mailbox, Organization
from labsim.model.values import AddressSpace, is_ip_literal
from labsim.policy import texts
from labsim.smtp.reply import Reply

TRANSPORT_SERVICE_PORT = 2525
"""The Mailbox server's Transport service (its ``Default`` receive connector): where a relay
to a connector's source server goes, as Front End Transport's hops do."""
INTRA_ORG_SEND_CONNECTOR = "Intra-Organization SMTP Send Connector"
"""The implicit connector of hops between servers of one organization (its connector-id in the
message tracking log and the send protocol log)."""


class ResolutionKind(Enum):
    """What the categorizer decided for one recipient."""

    LOCAL = "Local"
    """A mailbox of this organization: deliver to the mailbox store."""
    NOT_FOUND = "NotFound"
    """An accepted domain without such a mailbox: fail the recipient (NDR)."""
    REMOTE = "Remote"
    """Another domain: route through a send connector."""


@dataclass(frozen=True)
class Resolution:
    """The categorizer's result for one recipient."""

    recipient: str
    domain: str
    kind: ResolutionKind
    mailbox: Mailbox | None
    reply: Reply | None
    explanation: str


def recipient_domain(address: str) -> str:
    """The lower-cased domain of an SMTP address; ValueError when there is none."""
    local, sep, domain = address.strip().strip("<>").rpartition("@")
    if not sep or not local or not domain:
        raise ValueError(f"'{address}' is not an SMTP address; use user@domain")
    return domain.lower()


def categorize(org: Organization, recipient: str) -> Resolution:
    """Resolve ``recipient`` against ``org``'s accepted domains and mailboxes."""
    domain = recipient_domain(recipient)
    if org.is_authoritative_domain(domain):
        mailbox = org.mailbox(recipient.strip().strip("<>"))
        if mailbox is not None:
            return Resolution(
                recipient,
                domain,
                ResolutionKind.LOCAL,
                mailbox,
                None,
                f"categorizer: {domain} is an accepted domain of {org.name} and "
                f"{mailbox.primary_smtp_address} is a mailbox; deliver locally",
            )
        return Resolution(
            recipient,
            domain,
            ResolutionKind.NOT_FOUND,
            None,
            texts.RECIPIENT_NOT_FOUND,
            f"categorizer: {domain} is an accepted domain of {org.name} but no mailbox has the "
            f"address {recipient}; {texts.RECIPIENT_NOT_FOUND}",
        )
    accepted = org.accepted_domain(domain)
    why = (
        f"categorizer: {domain} is an {accepted.domain_type.value} accepted domain of {org.name}; "
        "relay it through a send connector"
        if accepted is not None
        else f"categorizer: {domain} is not an accepted domain of {org.name}; route to a send connector"
    )
    return Resolution(recipient, domain, ResolutionKind.REMOTE, None, None, why)


@dataclass(frozen=True)
class NextHop:
    """Where a delivery queue points (Get-Queue NextHopDomain, DeliveryType, TlsDomain; §9)."""

    next_hop_domain: str
    delivery_type: DeliveryType
    connector_name: str
    tls_domain: str | None = None
    smart_hosts: tuple[str, ...] = ()
    port: int = 25
    source_servers: tuple[str, ...] = ()
    """For a relay: the connector's SourceTransportServers (names), tried in this order."""

    @property
    def is_dns_routed(self) -> bool:
        """True for an MX-routed queue (DnsConnectorDelivery)."""
        return self.delivery_type is DeliveryType.DNS_CONNECTOR_DELIVERY

    @property
    def is_relay(self) -> bool:
        """True for a relay to the connector's source servers (SmtpRelayToConnectorSourceServers)."""
        return self.delivery_type is DeliveryType.SMTP_RELAY_TO_CONNECTOR_SOURCE_SERVERS

    @property
    def tracking_connector_id(self) -> str:
        """The connector-id of SEND/DEFER events: the send connector, or the implicit
        intra-organization connector for a relay to another server of the organization."""
        return INTRA_ORG_SEND_CONNECTOR if self.is_relay else self.connector_name


@dataclass(frozen=True)
class ConnectorCandidate:
    """One send connector as the router saw it, for ``--explain`` output."""

    name: str
    address_space: AddressSpace | None
    excluded_because: str | None

    @property
    def eligible(self) -> bool:
        """True when the connector could carry the message."""
        return self.excluded_because is None


@dataclass(frozen=True)
class RoutingDecision:
    """The send connector chosen for a recipient domain (or none) and the next hop."""

    connector: SendConnector | None
    next_hop: NextHop | None
    explanation: str
    candidates: tuple[ConnectorCandidate, ...]
    reply: Reply | None = None
    """Set when unreachable: the recipient status (``550 5.4.4 ROUTING.NoConnector…``)."""

    @property
    def unreachable(self) -> bool:
        """True when no connector covers the domain (Unreachable queue)."""
        return self.connector is None

    @property
    def relays(self) -> bool:
        """True when the routing server relays to the connector's source servers."""
        return self.next_hop is not None and self.next_hop.is_relay


def specificity(space: AddressSpace) -> int:
    """How specific an address space is; larger wins (§4.1.7).

    ``*`` is 0; ``*.contoso.com`` ranks by the labels after the wildcard; an exact domain ranks
    just above the wildcard over the same domain, so ``contoso.com`` beats ``*.contoso.com``
    and ``*.eu.contoso.com`` beats both for ``x.eu.contoso.com``. (``AddressSpace.specificity``
    counts the ``*`` as a label, which ranks ``*.contoso.com`` above ``contoso.com``; routing
    uses this function instead.)
    """
    address = space.address
    if address == "*":
        return 0
    if address.startswith("*."):
        return (address[2:].count(".") + 1) * 2
    return (address.count(".") + 1) * 2 + 1


def _best_space(connector: SendConnector, domain: str) -> AddressSpace | None:
    best: AddressSpace | None = None
    for space in connector.address_spaces:
        if not space.matches(domain):
            continue
        if (
            best is None
            or specificity(space) > specificity(best)
            or (specificity(space) == specificity(best) and space.cost < best.cost)
        ):
            best = space
    return best


def _smart_host_text(host: str) -> str:
    # Get-Queue shows an IP smart host in brackets ("[127.0.10.100]", docs/exchange-reference.md
    # §9).
    return f"[{host}]" if is_ip_literal(host) else host.lower()


def next_hop_for(org: Organization, connector: SendConnector, domain: str) -> NextHop:
    """The queue a message to ``domain`` through ``connector`` lands in (§4.1.3, §9)."""
    domain = domain.lower()
    if connector.dns_routing_enabled or not connector.smart_hosts:
        listed = org.transport_config.sends_domain_secured_to(domain)
        return NextHop(
            next_hop_domain=domain,
            delivery_type=DeliveryType.DNS_CONNECTOR_DELIVERY,
            connector_name=connector.name,
            tls_domain=domain if listed else None,
            port=connector.port,
        )
    hosts = tuple(_smart_host_text(h) for h in connector.smart_hosts)
    # The list lookup uses this next hop domain (the smart-host list), which never matches a
    # listed domain: that is Exchange's silent non-enforcement on smart-host connectors.
    return NextHop(
        next_hop_domain=",".join(hosts),
        delivery_type=DeliveryType.SMART_HOST_CONNECTOR_DELIVERY,
        connector_name=connector.name,
        tls_domain=None,
        smart_hosts=tuple(connector.smart_hosts),
        port=connector.port,
    )


def relay_next_hop(org: Organization, connector: SendConnector, source_server: str) -> NextHop:
    """The queue on ``source_server`` for a connector it does not source: a relay to the
    connector's source servers, NextHopDomain the connector's name (Exchange's queue table).

    The routing server itself is left out of the servers to try (it is not one of them, or it
    would use the connector directly); the others keep the connector's order.
    """
    own = org.server(source_server)
    skip = {source_server.lower()} | ({own.name.lower()} if own is not None else set())
    servers: list[str] = []
    for name in connector.source_transport_servers:
        server = org.server(name)
        shown = server.name if server is not None else name
        if shown.lower() not in skip and shown not in servers:
            servers.append(shown)
    return NextHop(
        next_hop_domain=connector.name,
        delivery_type=DeliveryType.SMTP_RELAY_TO_CONNECTOR_SOURCE_SERVERS,
        connector_name=connector.name,
        tls_domain=None,
        port=TRANSPORT_SERVICE_PORT,
        source_servers=tuple(servers),
    )


def _serves(connector: SendConnector, names: set[str]) -> bool:
    return any(s.lower() in names for s in connector.source_transport_servers)


def select_send_connector(
    org: Organization, recipient_domain: str, source_server: str
) -> RoutingDecision:
    """Choose the send connector for ``recipient_domain`` routed on ``source_server`` (§4.1.7).

    ``source_server`` is the routing server's name or FQDN. Every enabled connector of the
    organization with a source server competes: the most specific address space wins, then the
    lowest cost, then a connector ``source_server`` sources itself, then the name. When the
    winner is sourced elsewhere, the next hop is a relay to its source servers
    (:func:`relay_next_hop`). With no eligible connector the decision is unreachable and carries
    ``550 5.4.4 ROUTING.NoConnectorForAddressType``; Exchange keeps such messages in the
    Unreachable queue until expiry or resubmission.
    """
    domain = recipient_domain.lower()
    server = org.server(source_server)
    names = {source_server.lower()}
    if server is not None:
        names |= {server.name.lower(), server.fqdn.lower()}
    shown_server = server.name if server is not None else source_server
    candidates: list[ConnectorCandidate] = []
    eligible: list[tuple[AddressSpace, SendConnector, bool]] = []
    for connector in org.send_connectors:
        space = _best_space(connector, domain)
        reason: str | None = None
        if not connector.enabled:
            reason = "disabled"
        elif space is None:
            reason = f"no address space covers {domain}"
        elif not connector.source_transport_servers:
            reason = "no SourceTransportServers"
        candidates.append(ConnectorCandidate(connector.name, space, reason))
        if reason is None and space is not None:
            eligible.append((space, connector, _serves(connector, names)))
    if not eligible:
        return RoutingDecision(
            None,
            None,
            "docs/exchange-reference.md §4.1.7: no enabled send connector of "
            f"{org.name} has an "
            f"address space covering {domain}; the recipient goes to the Unreachable queue with "
            f"'{texts.NO_CONNECTOR_FOR_ADDRESS_TYPE}'",
            tuple(candidates),
            texts.NO_CONNECTOR_FOR_ADDRESS_TYPE,
        )
    eligible.sort(
        key=lambda item: (-specificity(item[0]), item[0].cost, not item[2], item[1].name.lower())
    )
    space, chosen, local = eligible[0]
    runner_up = ""
    if len(eligible) > 1:
        other_space, other, _ = eligible[1]
        runner_up = f"; next best '{other.name}' ({other_space})"
    why = (
        f"docs/exchange-reference.md §4.1.7: send connector '{chosen.name}' matches {domain} with "
        "address space "
        f"{space} (most specific, then lowest cost, then sourced on {shown_server}){runner_up}"
    )
    if not local:
        relay = relay_next_hop(org, chosen, source_server)
        return RoutingDecision(
            chosen,
            relay,
            f"{why}; {shown_server} is not in its SourceTransportServers: next hop: relay to "
            f"{', '.join(relay.source_servers) or 'its source servers'} "
            f"(SmtpRelayToConnectorSourceServers, Transport service port "
            f"{TRANSPORT_SERVICE_PORT}), which send it through the connector",
            tuple(candidates),
        )
    next_hop = next_hop_for(org, chosen, domain)
    if next_hop.is_dns_routed:
        hop_text = f"DNS (MX) routing to {domain}"
    else:
        hop_text = (
            f"smart hosts {next_hop.next_hop_domain} "
            "(no Domain Security lookup, docs/exchange-reference.md §4.1.3)"
        )
    return RoutingDecision(chosen, next_hop, f"{why}; next hop: {hop_text}", tuple(candidates))
