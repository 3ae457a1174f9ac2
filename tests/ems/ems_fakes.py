"""A small in-memory ShellHost over the default lab, for the shell's unit tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from labsim.errors import CmdletError
from labsim.model.enums import DeliveryType, MessageStatus, QueueStatus
from labsim.model.lab import default_lab
from labsim.model.mail import MessageView, QueueView
from labsim.model.organization import Organization
from labsim.pki.ca import create_root_ca
from labsim.pki.files import write_root
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


class FakeHost:
    """Organizations of the default lab, real certificate stores, canned queues."""

    def __init__(self, folder: Path | None = None, *, with_pki: bool = True) -> None:
        lab = default_lab()
        self.orgs: dict[str, Organization] = {
            d.organization.name.lower(): d.organization for d in lab.organizations
        }
        self.folder = folder or Path("/nonexistent")
        self.stores: dict[str, CertificateStore] = {}
        self.submitted: list[Submitted] = []
        self.queue_rows: list[QueueView] = []
        self.message_rows: list[MessageView] = []
        self.retried: list[str] = []
        if with_pki:
            self._build_pki(lab)

    def _build_pki(self, lab: object) -> None:
        for definition in default_lab().organizations:
            org = definition.organization
            ca = create_root_ca(definition.root_ca_name, organization=org.name, at=NOW)
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

    # -- ShellHost ---------------------------------------------------------------------------

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
