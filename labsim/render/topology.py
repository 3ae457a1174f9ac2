"""The lab's organizations as a picture: servers (name, FQDN, address), each server's SMTP
certificate and its issuer, the roots each organization trusts, both TLS lists, the send and
receive connectors, and for every ordered pair of organizations a forecast (:class:`PairVerdict`):
would mail be domain-secured now, and if not, which rule says why.

The forecast is pure: it walks the path a message from the sender's first Mailbox server to the
receiver's default domain would take, with the same policy functions the engine calls
(labsim.policy: routing, receive-connector selection, the outbound decisions of
docs/exchange-reference.md §4.2 and §4.3, the MAIL FROM check of §5.3), over the configuration
and certificate stores as they are now. It never sends mail. Its ``reason`` is the explanation
the deciding function gives, the words ``--explain`` prints when the message is really sent.
Limits: the first Internet hop is forecast (into a relaying organization, such as hosted
filtering, the relay's own session is not: never domain-secured), and the hop between a Mailbox
server and its Client Access server is assumed to work (both as labsim builds them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labsim.model.enums import AuthMechanism
from labsim.model.values import is_ip_literal
from labsim.pki.certificate import windows_name
from labsim.pki.selection import select_starttls_certificate
from labsim.pki.validation import CertificateValidationStatus, PeerCertificate
from labsim.policy.domain_security import (
    OutboundAction,
    after_ehlo,
    after_handshake,
    check_mail_from,
    client_certificate_missing,
    outbound_policy,
)
from labsim.policy.permissions import SessionIdentity
from labsim.policy.receive_selection import choose_receive_connector
from labsim.policy.routing import select_send_connector
from labsim.render import svg
from labsim.render.html import GREEN, GREY, INK, LINE, PANEL, PAPER, RED
from labsim.render.paths import CertView

if TYPE_CHECKING:
    from labsim.lab import Lab
    from labsim.model.organization import Organization, Server


@dataclass(frozen=True)
class ServerView:
    """One server: ``role`` is ``Mailbox`` or ``ClientAccess``; ``certificate`` the one it
    presents for STARTTLS on its FQDN now (``status`` is the chain's status at lab time
    against the server's own trusted roots); ``trusted_roots`` the subjects of its roots."""

    name: str
    fqdn: str
    address: str
    role: str
    certificate: CertView | None
    trusted_roots: tuple[str, ...]


@dataclass(frozen=True)
class ConnectorView:
    """A send or receive connector, as ``kind`` (``send``/``receive``), its identity and the
    settings that matter for Domain Security, one ``Name: value`` string each."""

    kind: str
    identity: str
    settings: tuple[str, ...]
    built_in: bool = False
    """One of the receive connectors Exchange Setup creates on every server (Default Frontend,
    Outbound Proxy Frontend, Client Frontend, Default, Client Proxy), unchanged for Domain
    Security (no DomainSecureEnabled)."""


@dataclass(frozen=True)
class OrganizationView:
    """One organization of the lab."""

    name: str
    domain: str
    servers: tuple[ServerView, ...]
    trusted_roots: tuple[str, ...]
    """Roots trusted by any of its servers (subjects, Windows form)."""
    tls_send_domain_secure_list: tuple[str, ...]
    tls_receive_domain_secure_list: tuple[str, ...]
    send_connectors: tuple[ConnectorView, ...]
    receive_connectors: tuple[ConnectorView, ...]


@dataclass(frozen=True)
class PairVerdict:
    """Would mail from ``sender_org`` to ``receiver_org`` be domain-secured now (green check)?
    ``reason`` is the rule that decides, in ``--explain``'s words."""

    sender_org: str
    receiver_org: str
    secured: bool
    reason: str


@dataclass(frozen=True)
class Topology:
    """The organizations and the forecast for every ordered pair of them."""

    organizations: tuple[OrganizationView, ...]
    pairs: tuple[PairVerdict, ...]

    def pair(self, sender_org: str, receiver_org: str) -> PairVerdict | None:
        """The verdict for one ordered pair (names case-insensitive)."""
        for verdict in self.pairs:
            if (
                verdict.sender_org.lower() == sender_org.lower()
                and verdict.receiver_org.lower() == receiver_org.lower()
            ):
                return verdict
        return None


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def topology(lab: Lab) -> Topology:
    """The lab's topology and forecast, now."""
    world = lab.world
    organizations = tuple(world.organizations.values())
    views = tuple(_organization_view(lab, org) for org in organizations)
    pairs = tuple(
        forecast(lab, sender, receiver)
        for sender in organizations
        for receiver in organizations
        if sender is not receiver
    )
    return Topology(views, pairs)


def _organization_view(lab: Lab, org: Organization) -> OrganizationView:
    servers = tuple(_server_view(lab, s) for s in org.servers)
    roots: list[str] = []
    for server in servers:
        roots.extend(r for r in server.trusted_roots if r not in roots)
    config = org.transport_config
    return OrganizationView(
        name=org.name,
        domain=org.default_domain,
        servers=servers,
        trusted_roots=tuple(roots),
        tls_send_domain_secure_list=tuple(config.tls_send_domain_secure_list),
        tls_receive_domain_secure_list=tuple(config.tls_receive_domain_secure_list),
        send_connectors=tuple(_send_view(c) for c in org.send_connectors),
        receive_connectors=tuple(_receive_view(c) for c in org.receive_connectors),
    )


def _server_view(lab: Lab, server: Server) -> ServerView:
    world = lab.world
    store = world.stores.get(server.name)
    if store is None:
        return ServerView(server.name, server.fqdn, server.address, server.role.value, None, ())
    roots = tuple(windows_name(r.subject) for r in store.trusted_roots())
    chosen = select_starttls_certificate(store.personal(), fqdn=server.fqdn, at=world.now())
    cert = chosen.certificate
    view = None
    if cert is not None:
        peer = world.certificate_verdict(
            (cert.certificate, *cert.chain),
            trusted_roots=store.trusted_roots(),
            purpose="serverAuth",
        )
        view = CertView(cert.subject, cert.issuer, peer.status.value)
    return ServerView(server.name, server.fqdn, server.address, server.role.value, view, roots)


def _send_view(c: Any) -> ConnectorView:
    settings = [
        "AddressSpaces: " + ", ".join(str(s) for s in c.address_spaces),
        f"DNSRoutingEnabled: {c.dns_routing_enabled}"
        + ("" if c.dns_routing_enabled else f" (SmartHosts: {', '.join(c.smart_hosts)})"),
        f"DomainSecureEnabled: {c.domain_secure_enabled}",
        f"FrontendProxyEnabled: {c.frontend_proxy_enabled}",
        "SourceTransportServers: " + ", ".join(c.source_transport_servers),
    ]
    if c.require_tls:
        level = c.tls_auth_level.value if c.tls_auth_level else "EncryptionOnly"
        settings.append(f"RequireTLS: True (TlsAuthLevel {level})")
    if c.tls_certificate_name:
        settings.append(f"TlsCertificateName: {c.tls_certificate_name}")
    if not c.enabled:
        settings.append("Enabled: False")
    return ConnectorView("send", c.name, tuple(settings))


def _receive_view(c: Any) -> ConnectorView:
    settings = [
        "Bindings: " + ", ".join(str(b) for b in c.bindings),
        "RemoteIPRanges: " + ", ".join(r.text for r in c.remote_ip_ranges),
        "AuthMechanism: " + ", ".join(sorted(m.value for m in c.auth_mechanism)),
        "PermissionGroups: " + (", ".join(sorted(g.value for g in c.permission_groups)) or "None"),
        f"DomainSecureEnabled: {c.domain_secure_enabled}",
    ]
    if not c.enabled:
        settings.append("Enabled: False")
    built_in = (
        any(c.name == f"{prefix} {c.server}" for prefix in _BUILT_IN_RECEIVE)
        and not c.domain_secure_enabled
    )
    return ConnectorView("receive", c.identity, tuple(settings), built_in)


_BUILT_IN_RECEIVE = (
    "Default Frontend",
    "Outbound Proxy Frontend",
    "Client Frontend",
    "Default",
    "Client Proxy",
)


# ---------------------------------------------------------------------------------------------
# The forecast
# ---------------------------------------------------------------------------------------------


def forecast(lab: Lab, sender: Organization, receiver: Organization) -> PairVerdict:
    """Would a message from ``sender``'s default domain to ``receiver``'s be domain-secured?"""

    def verdict(secured: bool, reason: str) -> PairVerdict:
        return PairVerdict(sender.name, receiver.name, secured, reason)

    world = lab.world
    now = world.now()
    profile = world.profile
    mailbox_servers = [s for s in sender.servers if s.is_mailbox]
    if not mailbox_servers:
        return verdict(False, f"{sender.name} has no Mailbox server to send from")
    source = mailbox_servers[0]
    domain = receiver.default_domain
    routing = select_send_connector(sender, domain, source.name)
    if routing.relays and routing.next_hop is not None:
        # The first Mailbox server relays to the connector's source server, which sends it:
        # the Internet hop (address, certificate) is that server's.
        relayed = [sender.server(n) for n in routing.next_hop.source_servers]
        relay_source = next((s for s in relayed if s is not None), None)
        if relay_source is not None:
            source = relay_source
            routing = select_send_connector(sender, domain, source.name)
    if routing.connector is None or routing.next_hop is None:
        return verdict(False, routing.explanation)
    connector, hop = routing.connector, routing.next_hop
    proxied = connector.frontend_proxy_enabled
    sending = source
    if proxied:
        access = [s for s in sender.servers if s.is_client_access]
        if not access:
            return verdict(False, f"{sender.name} has no Client Access server to proxy through")
        sending = access[0]
    policy = outbound_policy(sender.transport_config, connector, hop, via_frontend_proxy=proxied)
    target = _target(lab, hop)
    if isinstance(target, str):
        return verdict(False, f"{policy.explanation}; {target}")
    target_org = world.organization_of(target.name)
    if target.name in world.stopped_servers:
        return verdict(
            False,
            f"{routing.explanation}; {target.fqdn} ({target.address}) does not answer: "
            f"{target.name} is stopped (Stop-LabServer), the message waits in the queue (Retry)",
        )
    selection = choose_receive_connector(
        target_org.receive_connectors_on(target.name),
        local_address=target.address,
        local_port=hop.port,
        remote_address=sending.address,
    )
    receive = selection.connector
    if receive is None:
        return verdict(False, selection.explanation)
    sender_store = world.stores[sending.name]
    target_store = world.stores[target.name]
    ehlo = connector.fqdn or sending.fqdn
    client = select_starttls_certificate(
        sender_store.personal(),
        fqdn=ehlo,
        at=now,
        tls_certificate_name=connector.tls_certificate_name,
    )
    if connector.tls_certificate_name and client.certificate is None:
        return verdict(
            False, client_certificate_missing(connector.tls_certificate_name).explanation
        )
    served = select_starttls_certificate(
        target_store.personal(),
        fqdn=receive.fqdn or target.fqdn,
        at=now,
        tls_certificate_name=receive.tls_certificate_name,
    ).certificate
    offered = AuthMechanism.TLS in receive.auth_mechanism and served is not None
    step = after_ehlo(
        policy, starttls_offered=offered, connector_name=connector.name, domain=hop.next_hop_domain
    )
    if step.failed:
        return verdict(False, step.explanation)
    tls = step.action is OutboundAction.START_TLS
    client_peer: PeerCertificate | None = None
    if tls:
        assert served is not None
        server_peer = _judge(
            lab,
            (served.certificate, *served.chain),
            sender_store.trusted_roots(),
            "serverAuth",
            needed=lambda p: _outbound_rests_on_revocation(policy, p, hop.next_hop_domain, profile),
        )
        check = after_handshake(policy, server_peer, domain=hop.next_hop_domain, profile=profile)
        if not check.ok:
            return verdict(False, check.explanation)
        client_peer = PeerCertificate.empty()
        if client.certificate is not None:
            cert = client.certificate
            client_peer = _judge(
                lab,
                (cert.certificate, *cert.chain),
                target_store.trusted_roots(),
                "clientAuth",
                needed=lambda p: _inbound_rests_on_revocation(
                    target_org, receive, sender.default_domain, p, profile
                ),
            )
    decision = check_mail_from(
        config=target_org.transport_config,
        connector=receive,
        sender_domain=sender.default_domain,
        tls_active=tls,
        starttls_offered=offered,
        peer=client_peer,
        identity=SessionIdentity.ANONYMOUS,
        profile=profile,
    )
    if decision.accepted and target_org.name != receiver.name:
        # A relay (hosted filtering): the Partner identity never carries over to the next
        # organization's session, whose sender is the relay.
        return verdict(
            False,
            f"{decision.explanation}; {target_org.name} ({target.fqdn}) then relays the message "
            f"to {receiver.name} in a session of its own (the forecast covers the first hop)",
        )
    return verdict(
        decision.accepted and decision.identity is SessionIdentity.PARTNER, decision.explanation
    )


def _target(lab: Lab, hop: Any) -> Server | str:
    """The lab server the first session of ``hop`` goes to, or why there is none."""
    world = lab.world
    if hop.is_dns_routed:
        records = sorted(
            (
                mx
                for mx in lab.definition.dns_mx_records()
                if mx.domain.lower() == hop.next_hop_domain.lower()
            ),
            key=lambda mx: mx.preference,
        )
        if not records:
            return f"{hop.next_hop_domain} has no MX record in the lab DNS"
        hosts: Sequence[str] = [mx.exchange for mx in records]
    else:
        hosts = hop.smart_hosts
    a_records = {name.lower(): address for name, address in lab.definition.dns_a_records()}
    for host in hosts:
        try:
            return world.server(host)
        except KeyError:
            pass
        address = host if is_ip_literal(host) else a_records.get(host.lower().rstrip("."))
        found = world.server_at(address) if address else None
        if found is not None:
            return found[1]
    return f"{', '.join(hosts)} is not a server of the lab (the forecast covers lab servers only)"


def _judge(
    lab: Lab,
    chain: tuple[Any, ...],
    roots: tuple[Any, ...],
    purpose: str,
    *,
    needed: Any,
) -> PeerCertificate:
    """A presented chain's verdict as the engine reaches it: without revocation, then with the
    CRLs the lab's CRL server would hand out when the verdict rests on them (D5)."""
    world = lab.world
    basic: PeerCertificate = world.certificate_verdict(chain, trusted_roots=roots, purpose=purpose)
    if not needed(basic):
        return basic
    crls = []
    for key, authority in lab.authorities.items():
        if lab.crl_reachable_by_ca.get(key, True):
            crls.append(authority.published_crl(world.now())[0])
    checked: PeerCertificate = world.certificate_verdict(
        chain, trusted_roots=roots, purpose=purpose, crls=tuple(crls)
    )
    return checked


def _outbound_rests_on_revocation(
    policy: Any, peer: PeerCertificate, domain: str, profile: Any
) -> bool:
    check = after_handshake(policy, peer, domain=domain, profile=profile)
    return check.ok and check.status is CertificateValidationStatus.VALID


def _inbound_rests_on_revocation(
    receiver: Organization, receive: Any, sender_domain: str, peer: PeerCertificate, profile: Any
) -> bool:
    decision = check_mail_from(
        config=receiver.transport_config,
        connector=receive,
        sender_domain=sender_domain,
        tls_active=True,
        starttls_offered=True,
        peer=peer,
        identity=SessionIdentity.ANONYMOUS,
        profile=profile,
    )
    return decision.identity is SessionIdentity.PARTNER


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------


ORG_W = 450
GAP = 36
MARGIN = 30
SMALL = 14
BODY = 16
LINE_H = 20


def _org_lines(org: OrganizationView, box_w: float) -> list[tuple[str, float, str, str]]:
    """The text lines of one organization's box: (text, size, colour, weight)."""
    inner = box_w - 32
    out: list[tuple[str, float, str, str]] = []

    def add(
        text: str, size: float = SMALL, fill: str = INK, weight: str = "normal", lines: int = 2
    ) -> None:
        for piece in svg.wrap(text, inner, size, max_lines=lines, bold=weight == "bold"):
            out.append((piece, size, fill, weight))

    def heading(text: str) -> None:
        out.append(("", 6, INK, "normal"))
        add(text, BODY, INK, "bold", 1)

    heading("Servers")
    for server in org.servers:
        role = "Client Access" if server.role.lower().startswith("client") else server.role
        add(f"{server.name} ({role})", BODY, INK, "bold", 1)
        add(f"{server.fqdn} · {server.address}", SMALL, GREY)
        cert = server.certificate
        if cert is None:
            add("SMTP certificate: none", SMALL, RED)
        else:
            add(f"SMTP certificate: {cert.subject}", SMALL)
            colour = (
                GREEN
                if cert.status == "Valid"
                else (GREY if cert.status.startswith("Valid") else RED)
            )
            add(f"issued by {cert.issuer} — {cert.status}", SMALL, colour)
    heading("Trusted roots")
    for root in org.trusted_roots or ("(none)",):
        add(root, SMALL, INK, "normal", 1)
    heading("Domain Security lists")
    send = ", ".join(org.tls_send_domain_secure_list)
    receive = ", ".join(org.tls_receive_domain_secure_list)
    add(f"TLSSendDomainSecureList: {{{send}}}", SMALL, GREEN if send else GREY)
    add(f"TLSReceiveDomainSecureList: {{{receive}}}", SMALL, GREEN if receive else GREY)
    heading("Send connectors")
    if not org.send_connectors:
        add("(none)", SMALL, GREY)
    for connector in org.send_connectors:
        add(connector.identity, SMALL, INK, "bold", 1)
        add(" · ".join(connector.settings), SMALL, GREY, "normal", 4)
    heading("Receive connectors")
    built_in = [c.identity.split("\\", 1)[-1] for c in org.receive_connectors if c.built_in]
    if built_in:
        add(f"Built-in: {', '.join(built_in)}", SMALL, GREY, "normal", 4)
    for connector in org.receive_connectors:
        if connector.built_in:
            continue
        add(connector.identity, SMALL, INK, "bold", 1)
        keep = [s for s in connector.settings if not s.startswith(("Bindings", "AuthMechanism"))]
        add(" · ".join(keep), SMALL, GREY, "normal", 3)
    return out


def topology_svg(t: Topology) -> str:
    """The topology as one inline ``<svg>`` element (no script; every text escaped): a box
    per organization (servers, certificates, trusted roots, both TLS lists, connectors), then
    the forecast for every ordered pair, ✔ green when mail would be domain-secured, ✘ red with
    the rule that says why not."""
    count = max(1, len(t.organizations))
    width = max(1100, 2 * MARGIN + count * ORG_W + (count - 1) * GAP)
    org_w = (width - 2 * MARGIN - (count - 1) * GAP) / count
    inner = width - 2 * MARGIN
    parts: list[str] = []
    top = 20.0
    boxes = [_org_lines(org, org_w) for org in t.organizations]
    body_h = max(
        (sum(LINE_H if size > 6 else 6 for _, size, _, _ in lines) for lines in boxes), default=0
    )
    box_h = 70 + body_h + 16
    for index, (org, lines) in enumerate(zip(t.organizations, boxes, strict=True)):
        x = MARGIN + index * (org_w + GAP)
        parts.append(svg.rect(x, top, org_w, box_h, fill=PAPER, stroke=INK, radius=10, width=2))
        parts.append(svg.rect(x, top, org_w, 62, fill=PANEL, stroke=INK, radius=10, width=2))
        parts.append(
            svg.text(
                x + 16,
                top + 28,
                svg.fits(org.name, org_w - 32, 22, bold=True),
                size=22,
                weight="bold",
            )
        )
        parts.append(
            svg.text(x + 16, top + 50, svg.fits(org.domain, org_w - 32, BODY), size=BODY, fill=GREY)
        )
        y = top + 70
        for content, size, fill, weight in lines:
            if size <= 6:
                y += 6
                continue
            y += LINE_H
            parts.append(svg.text(x + 16, y - 5, content, size=size, fill=fill, weight=weight))
    y = top + box_h + 44
    parts.append(
        svg.text(
            MARGIN,
            y,
            "Would mail be domain-secured now? (forecast from the configuration)",
            size=20,
            weight="bold",
        )
    )
    y += 16
    for pair in t.pairs:
        colour = GREEN if pair.secured else RED
        title = f"{pair.sender_org} → {pair.receiver_org}"
        label = "domain secured" if pair.secured else "not domain secured"
        reason = svg.wrap(pair.reason, inner - 70, SMALL + 1, max_lines=5)
        block_h = 34 + len(reason) * LINE_H + 8
        parts.append(
            svg.rect(MARGIN, y, inner, block_h, fill=PANEL, stroke=LINE, radius=6, width=1)
        )
        parts.append(svg.rect(MARGIN, y, 6, block_h, fill=colour, radius=2))
        parts.append(svg.mark(MARGIN + 18, y + 26, pair.secured, label, size=22))
        parts.append(
            svg.text(MARGIN + 48, y + 25, f"{title}: {label}", size=18, weight="bold", fill=colour)
        )
        ty = y + 34 + SMALL
        for piece in reason:
            parts.append(svg.text(MARGIN + 48, ty, piece, size=SMALL + 1, fill=INK))
            ty += LINE_H
        y += block_h + 12
    height = y + 10
    names = ", ".join(o.name for o in t.organizations)
    return svg.document(
        width, height, f"Topology of the lab: {names}", parts, label=f"Lab topology: {names}"
    )
