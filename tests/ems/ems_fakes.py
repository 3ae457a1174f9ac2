"""A small in-memory ShellHost over the default lab, for the shell's unit tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from labsim.ems.conversions import parse_subject_name
from labsim.ems.host import PUBLIC_CA, LogFile
from labsim.errors import CmdletError
from labsim.logs.event_log import EventLogEntry
from labsim.logs.tracking import TrackingRecord
from labsim.model.enums import DeliveryType, MessageStatus, QueueStatus
from labsim.model.lab import PUBLIC_CA_NAME, default_lab
from labsim.model.mail import MessageView, QueueView
from labsim.model.organization import Organization
from labsim.pki.ca import CertificateAuthority, create_root_ca, eku_extension, leaf_key_usage
from labsim.pki.certificate import ExchangeCertificate
from labsim.pki.files import write_root
from labsim.pki.keys import generate_private_key, signature_hash
from labsim.pki.self_signed import exchange_default_certificate
from labsim.pki.store import CertificateStore

NOW = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


@dataclasses.dataclass
class Submitted:
    """One Send-MailMessage call."""

    organization: str
    mail_from: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    body: str
    smtp_server: str | None


@dataclasses.dataclass
class Issued:
    """One issue_certificate call (what the shell asked the host for)."""

    server: str
    issuer: str
    subject_name: str
    domain_names: tuple[str, ...]
    valid_days: int
    not_before_days: int
    services: tuple[str, ...]
    eku: tuple[str, ...]


def self_signed(
    subject_name: str,
    domain_names: Sequence[str],
    not_before: datetime,
    not_after: datetime,
    eku: Sequence[str],
) -> tuple[x509.Certificate, object]:
    """A self-signed end-entity certificate (as New-ExchangeCertificate makes) and its key."""
    subject = parse_subject_name(subject_name)
    attributes = []
    if subject.organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, subject.common_name))
    name = x509.Name(attributes)
    key = generate_private_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(leaf_key_usage(key), critical=True)
    )
    if domain_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in domain_names]), critical=False
        )
    extended = eku_extension(eku)
    if extended is not None:
        builder = builder.add_extension(extended, critical=False)
    return builder.sign(key, signature_hash()), key


class FakeHost:
    """Organizations of the default lab, real certificate stores and CAs, canned queues."""

    def __init__(self, folder: Path | None = None, *, with_pki: bool = True) -> None:
        lab = default_lab()
        self.order = [d.organization.name for d in lab.organizations]
        self.orgs: dict[str, Organization] = {
            d.organization.name.lower(): d.organization for d in lab.organizations
        }
        self.folder = folder or Path("/nonexistent")
        self.stores: dict[str, CertificateStore] = {}
        self.cas: dict[str, CertificateAuthority] = {}
        self.submitted: list[Submitted] = []
        self.queue_rows: list[QueueView] = []
        self.message_rows: list[MessageView] = []
        self.retried: list[str] = []
        self.stopped: set[str] = set()
        self.server_actions: list[str] = []
        """Each stop_server/start_server call: ``stop ADATUM-MBX1 (Restart-Service …)``."""
        self.unreachable_crls: set[str] = set()
        self.issued: list[Issued] = []
        self.suspended: dict[str, QueueStatus] = {}
        #: Message tracking records by server name (upper case), in log order.
        self.tracking: dict[str, list[TrackingRecord]] = {}
        self.files: dict[str, list[LogFile]] = {}

        self.event_log: dict[str, list[EventLogEntry]] = {}
        if with_pki:
            self._build_pki(lab)

    def _build_pki(self, lab: object) -> None:
        for definition in default_lab().organizations:
            org = definition.organization
            ca = create_root_ca(definition.root_ca_name, organization=org.name, at=NOW)
            self.cas[org.name.lower()] = ca
            if self.folder.exists():
                write_root(self.folder, org.name, ca)
            for server in org.servers:
                store = CertificateStore(server.name)
                store.add_personal(exchange_default_certificate(server.name, server.fqdn, at=NOW))
                for spec in definition.certificates:
                    if spec.server == server.name:
                        store.add_personal(
                            ca.issue(spec.common_name, at=NOW, dns_names=spec.dns_names)
                        )
                store.import_root(ca.certificate)
                self.stores[server.name.lower()] = store

        self.cas[PUBLIC_CA.lower()] = create_root_ca(PUBLIC_CA_NAME, organization=None, at=NOW)

    # -- ShellHost ---------------------------------------------------------------------------

    def organization_names(self) -> Sequence[str]:
        return list(self.order)

    def organization(self, name: str) -> Organization:
        return self.orgs[name.lower()]

    def replace_organization(self, organization: Organization) -> None:
        self.orgs[organization.name.lower()] = organization

    def certificate_store(self, server: str) -> CertificateStore:
        return self.stores[server.lower()]

    def certificate_folder(self) -> Path:
        return self.folder

    def now(self) -> datetime:
        return NOW

    def submit_message(
        self,
        organization: str,
        *,
        mail_from: str,
        to: Sequence[str],
        cc: Sequence[str],
        bcc: Sequence[str],
        subject: str,
        body: str,
        smtp_server: str | None,
    ) -> str:
        self.submitted.append(
            Submitted(
                organization,
                mail_from,
                tuple(to),
                tuple(cc),
                tuple(bcc),
                subject,
                body,
                smtp_server,
            )
        )
        return f"<{len(self.submitted)}@labsim>"

    def queues(self, organization: str, server: str | None) -> Sequence[QueueView]:
        return [
            q for q in self.queue_rows if server is None or q.identity.startswith(server + "\\")
        ]

    def messages(self, organization: str, queue: str | None) -> Sequence[MessageView]:
        return [m for m in self.message_rows if queue is None or m.queue.lower() == queue.lower()]

    def retry_queue(self, organization: str, identity: str) -> None:
        for q in self.queue_rows:
            if q.identity.lower() == identity.lower():
                if q.status is not QueueStatus.RETRY:
                    raise CmdletError(
                        f"Retry-Queue: The queue '{identity}' isn't in Retry status.",
                        cmdlet="Retry-Queue",
                        category="InvalidOperation",
                    )
                self.retried.append(q.identity)
                return
        raise CmdletError(
            f"Retry-Queue: The queue '{identity}' couldn't be found.",
            cmdlet="Retry-Queue",
            category="ManagementObjectNotFoundException",
        )

    def suspend_queue(self, organization: str, identity: str) -> None:
        index = self._queue_index("Suspend-Queue", identity)
        row = self.queue_rows[index]
        if row.status is not QueueStatus.SUSPENDED:
            self.suspended[row.identity] = row.status
            self.queue_rows[index] = dataclasses.replace(row, status=QueueStatus.SUSPENDED)

    def resume_queue(self, organization: str, identity: str) -> None:
        index = self._queue_index("Resume-Queue", identity)
        row = self.queue_rows[index]
        previous = self.suspended.pop(row.identity, row.status)
        self.queue_rows[index] = dataclasses.replace(row, status=previous)

    def _queue_index(self, cmdlet: str, identity: str) -> int:
        for i, q in enumerate(self.queue_rows):
            if q.identity.lower() == identity.lower():
                return i
        raise CmdletError(
            f"{cmdlet}: The queue '{identity}' couldn't be found.",
            cmdlet=cmdlet,
            category="ManagementObjectNotFoundException",
        )

    # -- lab actions -------------------------------------------------------------------------

    def _server_name(self, server: str) -> str:
        for org in self.orgs.values():
            found = org.server(server)
            if found is not None:
                return found.name
        raise AssertionError(f"the shell passed an unknown server {server!r}")

    def stop_server(self, server: str, cause: str = "Stop-LabServer") -> None:
        self.server_actions.append(f"stop {self._server_name(server)} ({cause})")
        self.stopped.add(self._server_name(server))

    def start_server(self, server: str, cause: str = "Start-LabServer") -> None:
        self.server_actions.append(f"start {self._server_name(server)} ({cause})")
        self.stopped.discard(self._server_name(server))

    def server_running(self, server: str) -> bool:
        return self._server_name(server) not in self.stopped

    def listening_ports(self, server: str) -> list[tuple[int, int]]:
        if self._server_name(server) in self.stopped:
            return []
        ports = (25, 717) if "CAS" in self._server_name(server) else (2525,)
        return [(port, port + 10000) for port in ports]

    def certification_authority(self, organization: str) -> str:
        return self.cas[organization.lower()].name

    def set_crl_reachable(self, organization: str, reachable: bool) -> None:
        assert organization.lower() in self.cas, organization
        if reachable:
            self.unreachable_crls.discard(organization)
        else:
            self.unreachable_crls.add(organization)

    def crl_reachable(self, organization: str) -> bool:
        return organization not in self.unreachable_crls

    def revoke_certificate(self, server: str, thumbprint: str) -> str:
        certificate = self.certificate_store(server).get(thumbprint)
        for ca in self.cas.values():
            if ca.subject == certificate.issuer and not certificate.is_self_signed:
                ca.revoke(certificate.certificate.serial_number, NOW)
                return ca.name
        raise CmdletError(
            f"Revoke-LabCertificate: no CA of the lab issued {thumbprint}.",
            cmdlet="Revoke-LabCertificate",
        )

    def issue_certificate(
        self,
        server: str,
        *,
        issuer: str,
        subject_name: str,
        domain_names: Sequence[str],
        valid_days: int,
        not_before_days: int,
        services: Sequence[str],
        eku: Sequence[str],
    ) -> ExchangeCertificate:
        self.issued.append(
            Issued(
                server,
                issuer,
                subject_name,
                tuple(domain_names),
                valid_days,
                not_before_days,
                tuple(services),
                tuple(eku),
            )
        )
        start = NOW + timedelta(days=not_before_days)
        end = start + timedelta(days=valid_days)
        if issuer == "self":
            cert, key = self_signed(subject_name, domain_names, start, end, eku)
            record = ExchangeCertificate(
                certificate=cert,
                private_key=key,  # type: ignore[arg-type]
                services=frozenset(services),
                friendly_name=parse_subject_name(subject_name).common_name,
            )
        else:
            if issuer == "own":
                owner = next(
                    name for name, org in self.orgs.items() if org.server(server) is not None
                )
            else:
                owner = issuer.lower()
            subject = parse_subject_name(subject_name)
            record = self.cas[owner].issue(
                subject.common_name,
                at=NOW,
                dns_names=domain_names,
                eku=eku,
                not_before=start,
                not_after=end,
                organization=subject.organization,
                services=frozenset(services),
            )
        return self.certificate_store(server).add_personal(record)

    def lab_time(self) -> datetime:
        return NOW

    def tracking_records(self, server: str) -> list[TrackingRecord]:
        return list(self.tracking.get(server.upper(), []))

    def log_files(self, server: str) -> list[LogFile]:
        return list(self.files.get(server.upper(), []))

    def event_log_entries(self, server: str) -> list[EventLogEntry]:
        return list(self.event_log.get(server.upper(), []))


def retry_queue_row() -> QueueView:
    """A queue to treyresearch.net in Retry, as after a certificate validation failure."""
    return QueueView(
        identity="ADATUM-MBX1\\3",
        delivery_type=DeliveryType.DNS_CONNECTOR_DELIVERY,
        next_hop_domain="treyresearch.net",
        status=QueueStatus.RETRY,
        message_count=1,
        last_error="[{LRT=3/1/2024 9:30:00 AM};{LED=454 4.7.5 Certificate validation failure}]",
        tls_domain="treyresearch.net",
    )


def message_row() -> MessageView:
    """A message waiting in the queue above."""
    return MessageView(
        identity="ADATUM-MBX1\\3\\12884901889",
        queue="ADATUM-MBX1\\3",
        from_address="april@adatum.com",
        status=MessageStatus.RETRY,
        subject="Hello Trey",
        size=1259,
        recipients=("ben@treyresearch.net",),
        date_received=NOW,
        expiration_time=datetime(2024, 3, 3, 9, 30, tzinfo=UTC),
    )
