"""The measurements of ``bench/run.py``: lab definitions for the cases, the TLS floor, and one
function per case that returns raw figures (seconds, counts). No printing, no targets' verdicts
beyond :func:`verdict`; ``run.py`` repeats the cases and makes the table.

Everything here uses labsim's public surface only (``Lab``, the model records, ``labsim.pki``,
``labsim.engine.tls``): the bench never changes the engine.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

# ---------------------------------------------------------------------------------------------
# Figures and targets
# ---------------------------------------------------------------------------------------------


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of several runs (the values are kept too)."""
    if not values:
        raise ValueError("no runs to summarize")
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
        "values": list(values),
    }


@dataclass(frozen=True)
class Target:
    """A target of issue 4: ``op`` is ``"<="`` or ``">="``; ``text`` is how the table shows it."""

    op: str
    value: float
    text: str

    def met(self, figure: float | None) -> bool | None:
        """Whether ``figure`` meets the target (None when there is no figure)."""
        if figure is None:
            return None
        if self.op == "<=":
            return figure <= self.value
        if self.op == ">=":
            return figure >= self.value
        raise ValueError(f"unknown target operator {self.op!r}")


def verdict(target: Target | None, figure: float | None) -> str:
    """``met``, ``NOT MET``, ``—`` (no target) or ``n/a`` (no figure)."""
    if target is None:
        return "—"
    ok = target.met(figure)
    if ok is None:
        return "n/a"
    return "met" if ok else "NOT MET"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of ``fn()`` (perf_counter) and its result."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# ---------------------------------------------------------------------------------------------
# Lab definitions
# ---------------------------------------------------------------------------------------------


def with_mailbox_certificates(definition: Any) -> Any:
    """``definition`` with a CA-issued certificate on every Mailbox server.

    A Mailbox server that sends to a partner directly (no proxy through the CAS) presents its
    own certificate as the client certificate. In the default lab it only has Exchange's
    self-signed default certificate, which the partner's CAS answers with
    ``454 4.7.5 Certificate validation failure`` (status ValidSelfSigned). An administrator
    would give the Mailbox server a certificate from the organization's CA naming the accepted
    domain; so does this.
    """
    from labsim.model.lab import CertificateSpec

    organizations = []
    for org_def in definition.organizations:
        org = org_def.organization
        extra = tuple(
            CertificateSpec(
                server=server.name,
                common_name=server.fqdn,
                dns_names=(server.fqdn, org.default_domain),
            )
            for server in org.servers
            if server.is_mailbox
        )
        organizations.append(
            dataclasses.replace(org_def, certificates=(*org_def.certificates, *extra))
        )
    return dataclasses.replace(definition, organizations=tuple(organizations))


def throughput_lab() -> Any:
    """The default lab, with CA-issued certificates on the Mailbox servers."""
    from labsim.model.lab import default_lab

    return with_mailbox_certificates(default_lab())


ADATUM_NO_PROXY = r"""
Import-Certificate -FilePath TreyResearch\root-ca.cer -CertStoreLocation Cert:\LocalMachine\Root
Set-TransportConfig -TLSSendDomainSecureList treyresearch.net -TLSReceiveDomainSecureList treyresearch.net
New-SendConnector -Name "To TreyResearch" -Partner -AddressSpaces treyresearch.net -SourceTransportServers ADATUM-MBX1 -FrontendProxyEnabled $false
"""

TREY_FROM_ADATUM_MBX = r"""
Import-Certificate -FilePath Adatum\root-ca.cer -CertStoreLocation Cert:\LocalMachine\Root
Set-TransportConfig -TLSSendDomainSecureList adatum.com -TLSReceiveDomainSecureList adatum.com
New-ReceiveConnector -Name "From Adatum" -Server TREY-CAS1 -Partner -Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.10.2
"""


def configure_adatum_to_trey(lab: Any) -> None:
    """Domain Security Adatum → TreyResearch without proxy through the CAS (the sending
    Mailbox server enforces it), through the shell as an admin would type it."""
    for org, text in (("Adatum", ADATUM_NO_PROXY), ("TreyResearch", TREY_FROM_ADATUM_MBX)):
        result = lab.run_shell(org, text)
        if getattr(result, "error", None):
            raise RuntimeError(f"{org} configuration failed: {result.error}")


MESH_USER = "user"


def mesh_domain(index: int) -> str:
    """The accepted domain of mesh organization ``index`` (1-based)."""
    return f"org{index:02d}.example"


def mesh_address(index: int, host: int) -> str:
    """127.0.<index>.<host>: .1 the CAS, .2 the Mailbox server (never 127.0.53.53, the DNS)."""
    if not 1 <= index <= 250 or index == 53:
        raise ValueError(f"mesh organization index {index} must be 1..250 and not 53")
    return f"127.0.{index}.{host}"


def mesh_lab(size: int) -> Any:
    """A full mesh of ``size`` organizations, every pair configured for Domain Security.

    Built as records (what the shell would have produced): each organization pre-imports every
    other organization's root (``extra_trusted_roots``), lists every partner domain in both TLS
    lists, has one Partner send connector for all partner domains (MX routing, no proxy through
    the CAS, sourced on its Mailbox server), and a Partner receive connector on its CAS limited
    to the partners' Mailbox server addresses. Mailbox servers hold a CA-issued certificate
    (:func:`with_mailbox_certificates`).
    """
    from labsim.model.connectors import ReceiveConnector, SendConnector
    from labsim.model.defaults import default_receive_connectors
    from labsim.model.enums import (
        AuthMechanism,
        PermissionGroup,
        ReceiveConnectorUsage,
        SendConnectorUsage,
        ServerRole,
        TransportRole,
    )
    from labsim.model.lab import CertificateSpec, LabDefinition, MxRecord, OrganizationDefinition
    from labsim.model.organization import AcceptedDomain, Mailbox, Organization, Server
    from labsim.model.transport import TransportConfig
    from labsim.model.values import AddressSpace, Binding, ByteSize, IPRange

    if size < 2:
        raise ValueError("a mesh needs at least two organizations")
    indexes = [i for i in range(1, 252) if i != 53][:size]
    names = {i: f"Org{i:02d}" for i in indexes}
    organizations = []
    mx_records = []
    for i in indexes:
        domain = mesh_domain(i)
        partners = [j for j in indexes if j != i]
        partner_domains = tuple(mesh_domain(j) for j in partners)
        prefix = f"ORG{i:02d}"
        cas = Server(
            name=f"{prefix}-CAS1",
            fqdn=f"mail.{domain}",
            role=ServerRole.CLIENT_ACCESS,
            address=mesh_address(i, 1),
        )
        mbx = Server(
            name=f"{prefix}-MBX1",
            fqdn=f"{prefix.lower()}-mbx1.{domain}",
            role=ServerRole.MAILBOX,
            address=mesh_address(i, 2),
        )
        send = SendConnector(
            name="To partners",
            address_spaces=tuple(AddressSpace.parse(d) for d in partner_domains),
            source_transport_servers=(mbx.name,),
            usage=SendConnectorUsage.PARTNER,
            domain_secure_enabled=True,
            dns_routing_enabled=True,
            frontend_proxy_enabled=False,
        )
        receive = ReceiveConnector(
            name="From partners",
            server=cas.name,
            transport_role=TransportRole.FRONTEND_TRANSPORT,
            bindings=(Binding("0.0.0.0", 25),),
            remote_ip_ranges=tuple(IPRange.parse(mesh_address(j, 2)) for j in partners),
            usage=ReceiveConnectorUsage.PARTNER,
            auth_mechanism=frozenset({AuthMechanism.TLS}),
            permission_groups=frozenset({PermissionGroup.PARTNERS}),
            domain_secure_enabled=True,
            fqdn=cas.fqdn,
            max_message_size=ByteSize.mb(36),
        )
        org = Organization(
            name=names[i],
            accepted_domains=(AcceptedDomain(domain, default=True),),
            servers=(cas, mbx),
            mailboxes=(Mailbox(f"{MESH_USER}@{domain}", "User"),),
            transport_config=TransportConfig(
                tls_send_domain_secure_list=partner_domains,
                tls_receive_domain_secure_list=partner_domains,
            ),
            send_connectors=(send,),
            receive_connectors=(
                *default_receive_connectors(cas),
                *default_receive_connectors(mbx),
                receive,
            ),
        )
        organizations.append(
            OrganizationDefinition(
                organization=org,
                root_ca_name=f"{names[i]} Root CA",
                certificates=(
                    CertificateSpec(
                        server=cas.name, common_name=cas.fqdn, dns_names=(cas.fqdn, domain)
                    ),
                    CertificateSpec(
                        server=mbx.name, common_name=mbx.fqdn, dns_names=(mbx.fqdn, domain)
                    ),
                ),
                extra_trusted_roots=tuple(names[j] for j in partners),
            )
        )
        mx_records.append(MxRecord(domain, cas.fqdn))
    return LabDefinition(
        name=f"mesh{size}", organizations=tuple(organizations), mx_records=tuple(mx_records)
    )


# ---------------------------------------------------------------------------------------------
# floor: mutual-TLS handshakes in memory
# ---------------------------------------------------------------------------------------------


@dataclass
class FloorEndpoints:
    """The two OpenSSL contexts of the floor: a partner CAS (server) and a Mailbox server
    (client), each with a certificate from its own organization's ECDSA P-256 root, built with
    ``labsim.pki`` and ``labsim.engine.tls`` exactly as the lab builds them."""

    server: Any
    client: Any
    server_name: bytes


def floor_endpoints() -> FloorEndpoints:
    """Fresh CAs and certificates, as the lab issues them (see ``Lab._build_pki``)."""
    from labsim.engine.tls import client_context, server_context
    from labsim.pki import create_root_ca

    at = datetime.now(UTC)
    trey = create_root_ca("TreyResearch Root CA", organization="TreyResearch", at=at)
    adatum = create_root_ca("Adatum Root CA", organization="Adatum", at=at)
    server_cert = trey.issue(
        "mail.treyresearch.net", at=at, dns_names=("mail.treyresearch.net", "treyresearch.net")
    )
    client_cert = adatum.issue(
        "adatum-mbx1.adatum.com", at=at, dns_names=("adatum-mbx1.adatum.com", "adatum.com")
    )
    return FloorEndpoints(
        server=server_context(server_cert),
        client=client_context(client_cert),
        server_name=b"mail.treyresearch.net",
    )


def _pump(source: Any, sink: Any) -> None:
    from OpenSSL import SSL

    while True:
        try:
            data = source.bio_read(65536)
        except SSL.WantReadError:
            return
        if not data:
            return
        sink.bio_write(data)


def handshake_pair(endpoints: FloorEndpoints) -> tuple[Any, Any]:
    """One full mutual-TLS handshake between two memory-BIO connections; returns both ends."""
    from OpenSSL import SSL

    server = SSL.Connection(endpoints.server, None)
    server.set_accept_state()
    client = SSL.Connection(endpoints.client, None)
    client.set_connect_state()
    client.set_tlsext_host_name(endpoints.server_name)
    client_done = server_done = False
    for _ in range(20):
        if not client_done:
            try:
                client.do_handshake()
                client_done = True
            except SSL.WantReadError:
                pass
        _pump(client, server)
        if not server_done:
            try:
                server.do_handshake()
                server_done = True
            except SSL.WantReadError:
                pass
        _pump(server, client)
        if client_done and server_done:
            return server, client
    raise RuntimeError("the in-memory handshake did not complete in 20 rounds")


def check_floor_handshake(endpoints: FloorEndpoints) -> dict[str, str]:
    """One handshake, checked: both sides presented a certificate; what was negotiated."""
    server, client = handshake_pair(endpoints)
    if server.get_peer_certificate() is None or client.get_peer_certificate() is None:
        raise RuntimeError("the floor handshake is not mutual: a side presented no certificate")
    return {
        "protocol": client.get_protocol_version_name(),
        "cipher": client.get_cipher_name() or "",
    }


def floor_rate(endpoints: FloorEndpoints, handshakes: int) -> tuple[float, float]:
    """(handshakes per second of wall time, CPU ms per handshake pair) over ``handshakes``."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(handshakes):
        handshake_pair(endpoints)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return handshakes / wall, cpu * 1000 / handshakes


# ---------------------------------------------------------------------------------------------
# start, throughput, time travel (in this process)
# ---------------------------------------------------------------------------------------------


def start_default_lab(cert_folder: Path) -> float:
    """Seconds for ``Lab.start(default_lab())`` (every listener bound on return); stops it."""
    from labsim.lab import Lab
    from labsim.model.lab import default_lab

    definition = default_lab()
    seconds, lab = timed(lambda: Lab.start(definition, cert_folder=cert_folder))
    lab.stop()
    return float(seconds)


def _check_domain_secured(lab: Any, address: str, expected: int) -> None:
    inbox = lab.inbox(address)
    secured = sum(1 for m in inbox if m.domain_secured)
    if len(inbox) != expected or secured != expected:
        queues = [
            f"{q.identity} {q.status.value} {q.message_count} {q.last_error}"
            for org in ("Adatum", "TreyResearch")
            for q in lab.queues(org)
        ]
        raise RuntimeError(
            f"{address}: {len(inbox)} messages ({secured} domain secured), expected {expected}; "
            f"queues: {queues}"
        )


def throughput_lab_started(cert_folder: Path) -> Any:
    """A started, configured throughput lab, warmed by one delivered message."""
    from labsim.lab import Lab

    lab = Lab.start(throughput_lab(), cert_folder=cert_folder)
    try:
        configure_adatum_to_trey(lab)
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="warm-up")
        _check_domain_secured(lab, "ben@treyresearch.net", 1)
    except BaseException:
        lab.stop()
        raise
    return lab


SENDERS = ("april@adatum.com", "ed@adatum.com", "administrator@adatum.com")
RECIPIENTS = ("ben@treyresearch.net", "terry@treyresearch.net")


class Throughput(NamedTuple):
    """One throughput run: the rate, the CPU per message, and the TLS handshakes it took (full
    and resumed, counted once per session at its client end)."""

    rate: float
    cpu_ms: float
    full_handshakes: int
    resumed_handshakes: int


def _handshakes(lab: Any) -> tuple[int, int]:
    sessions = lab.world.tls_sessions
    return sessions.full_handshakes, sessions.resumed_handshakes


def _timed_throughput(cert_folder: Path, count: int, deliver: Callable[[Any], None]) -> Throughput:
    """Run ``deliver(lab)`` (which must deliver ``count`` messages spread over RECIPIENTS) on a
    warmed-up throughput lab; time it, count its handshakes, check every message arrived
    domain-secured."""
    lab = throughput_lab_started(cert_folder)
    try:
        before = {r: len(lab.inbox(r)) for r in RECIPIENTS}
        full0, resumed0 = _handshakes(lab)
        started, cpu0 = time.perf_counter(), time.process_time()
        deliver(lab)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        full, resumed = _handshakes(lab)
        for index, r in enumerate(RECIPIENTS):
            sent = sum(1 for n in range(count) if n % len(RECIPIENTS) == index)
            _check_domain_secured(lab, r, before[r] + sent)
    finally:
        lab.stop()
    return Throughput(count / elapsed, cpu * 1000 / count, full - full0, resumed - resumed0)


def throughput_one_by_one(cert_folder: Path, count: int) -> Throughput:
    """(a) Each message submitted and delivered (one Internet-hop session) before the next."""

    def deliver(lab: Any) -> None:
        for n in range(count):
            lab.send(
                mail_from=SENDERS[n % len(SENDERS)],
                to=[RECIPIENTS[n % len(RECIPIENTS)]],
                subject=f"a-{n}",
                body="Domain secured, one session per message.",
            )

    return _timed_throughput(cert_folder, count, deliver)


def submit_batch(lab: Any, count: int, prefix: str = "b") -> None:
    """Submit ``count`` messages on ADATUM-MBX1 without letting the lab run."""
    service = lab.transport_services["ADATUM-MBX1"]
    for n in range(count):
        service.submit_new(
            mail_from=SENDERS[n % len(SENDERS)],
            to=[RECIPIENTS[n % len(RECIPIENTS)]],
            cc=[],
            bcc=[],
            subject=f"{prefix}-{n}",
            body="Domain secured, sessions reused.",
        )


def throughput_batch(cert_folder: Path, count: int) -> Throughput:
    """(b) ``count`` submitted at once, then the lab runs until idle (the queue sends them over
    sessions of up to 20 messages each)."""

    def deliver(lab: Any) -> None:
        submit_batch(lab, count)
        lab.run_until_idle()

    return _timed_throughput(cert_folder, count, deliver)


ADATUM_UNTRUSTED = r"""
Set-TransportConfig -TLSSendDomainSecureList treyresearch.net -TLSReceiveDomainSecureList treyresearch.net
New-SendConnector -Name "To TreyResearch" -Partner -AddressSpaces treyresearch.net -SourceTransportServers ADATUM-MBX1 -FrontendProxyEnabled $false
"""


def time_travel_cheap_failure(cert_folder: Path, *, failure: str) -> float:
    """Two lab days of retries whose every attempt fails before or without a TLS handshake:
    ``failure`` is "refused" (TREY-CAS1 stopped) or "no-starttls" (its certificates removed).
    Returns the wall seconds of ``lab.advance(2 days)``; checks the NDR arrived."""
    from labsim.lab import Lab
    from labsim.model.lab import default_lab

    lab = Lab.start(default_lab(), cert_folder=cert_folder)
    try:
        lab.run_shell("Adatum", ADATUM_UNTRUSTED)
        if failure == "refused":
            lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1")
        else:
            lab.run_shell(
                "TreyResearch",
                "Get-ExchangeCertificate -Server TREY-CAS1 | Remove-ExchangeCertificate",
            )
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Hello Trey")
        seconds, _ = timed(lambda: lab.advance(2 * 86400))
        if not any(m.is_ndr for m in lab.inbox("april@adatum.com")):
            raise RuntimeError(f"expected an NDR after two lab days ({failure})")
        return seconds
    finally:
        lab.stop()


def time_travel(cert_folder: Path) -> dict[str, float]:
    """Adatum requires Domain Security to treyresearch.net without trusting its root: the queue
    retries (454 4.7.5) for two lab days, the message expires, April gets an NDR.

    Returns the wall seconds of ``lab.advance(2 days)`` and of the whole scenario."""
    from labsim.lab import Lab
    from labsim.model.lab import default_lab

    started = time.perf_counter()
    lab = Lab.start(default_lab(), cert_folder=cert_folder)
    try:
        result = lab.run_shell("Adatum", ADATUM_UNTRUSTED)
        if getattr(result, "error", None):
            raise RuntimeError(f"Adatum configuration failed: {result.error}")
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Hello Trey")
        queues = [q for q in lab.queues("Adatum") if q.message_count]
        if not queues or "454 4.7.5" not in queues[0].last_error:
            raise RuntimeError(f"expected a queue in Retry with 454 4.7.5, found {queues}")
        full0, resumed0 = _handshakes(lab)
        advance_seconds, _ = timed(lambda: lab.advance(2 * 86400))
        full, resumed = _handshakes(lab)
        ndrs = [
            m
            for m in lab.inbox("april@adatum.com")
            if m.is_ndr and m.subject.startswith("Undeliverable")
        ]
        if not ndrs or lab.inbox("ben@treyresearch.net"):
            raise RuntimeError(
                f"expected an NDR to april@adatum.com and nothing for ben, found {len(ndrs)} NDR(s) "
                f"and {len(lab.inbox('ben@treyresearch.net'))} message(s) for ben"
            )
        retries = max((q.retry_count for q in lab.queues("Adatum")), default=0)
    finally:
        lab.stop()
    return {
        "advance_s": float(advance_seconds),
        "total_s": time.perf_counter() - started,
        "retries": float(retries),
        "full_handshakes": float(full - full0),
        "resumed_handshakes": float(resumed - resumed0),
    }


def temp_folder(prefix: str) -> Path:
    """A new empty folder under the system temp folder."""
    return Path(tempfile.mkdtemp(prefix=f"labsim-bench-{prefix}-"))


# ---------------------------------------------------------------------------------------------
# scale (run in a fresh process per size: see worker.py)
# ---------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MiB (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Current resident set size, MiB (from /proc; 0 when unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def mesh_run(size: int, cert_folder: Path) -> dict[str, Any]:
    """Start a ``size``-organization mesh, send one message on every ordered pair at once and
    run until idle. Figures: start and delivery seconds, counts, RSS."""
    from labsim.lab import Lab

    rss_imports = current_rss_mb()
    definition = mesh_lab(size)
    start_s, lab = timed(lambda: Lab.start(definition, cert_folder=cert_folder))
    rss_started = current_rss_mb()
    indexes = sorted(int(o.organization.name[3:]) for o in definition.organizations)
    expected = size * (size - 1)
    try:
        started = time.perf_counter()
        for i in indexes:
            service = lab.transport_services[f"ORG{i:02d}-MBX1"]
            for j in indexes:
                if i != j:
                    service.submit_new(
                        mail_from=f"{MESH_USER}@{mesh_domain(i)}",
                        to=[f"{MESH_USER}@{mesh_domain(j)}"],
                        cc=[],
                        bcc=[],
                        subject=f"{i}->{j}",
                        body="mesh",
                    )
        submit_s = time.perf_counter() - started
        error = None
        try:
            lab.run_until_idle()
        except Exception as err:  # a stuck or failing lab is a result of the benchmark
            error = f"{type(err).__name__}: {err}"
        deliver_s = time.perf_counter() - started
        delivered = secured = 0
        for j in indexes:
            inbox = lab.inbox(f"{MESH_USER}@{mesh_domain(j)}")
            delivered += sum(1 for m in inbox if not m.is_ndr)
            secured += sum(1 for m in inbox if m.domain_secured)
        errors: dict[str, int] = {}
        for org in lab.world.organizations.values():
            for q in lab.queues(org.name):
                if q.message_count:
                    key = (
                        q.last_error.split("{LED=")[-1].split("}")[0]
                        if q.last_error
                        else q.status.value
                    )
                    errors[key] = errors.get(key, 0) + q.message_count
    finally:
        lab.stop()
    return {
        "size": size,
        "start_s": float(start_s),
        "submit_s": submit_s,
        "deliver_s": deliver_s,
        "expected": expected,
        "delivered": delivered,
        "domain_secured": secured,
        "queued_errors": errors,
        "error": error,
        "rss_after_imports_mb": rss_imports,
        "rss_after_start_mb": rss_started,
        "peak_rss_mb": peak_rss_mb(),
    }
