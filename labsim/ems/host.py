"""The interface the running lab implements for the shell (:class:`ShellHost`).

The shell is pure: it never touches sockets, queues or the clock itself. Everything it reads or
changes outside the organization records goes through this protocol, which ``labsim.lab``
implements over the live lab and the tests implement with a small fake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from labsim.model.mail import MessageView, QueueView
from labsim.model.organization import Organization

if TYPE_CHECKING:
    # Imported for typing only: labsim.pki pulls in service_identity (and through it pyOpenSSL),
    # and the shell must stay importable without them being loaded.
    from labsim.logs.event_log import EventLogEntry
    from labsim.logs.tracking import TrackingRecord
    from labsim.pki.certificate import ExchangeCertificate
    from labsim.pki.requests import Certificate, CertificateRequest, PendingRequest
    from labsim.pki.store import CertificateStore

PUBLIC_CA = "Public"
"""The -Organization value (Set-LabCrl, Get-LabCrl) that names the lab's public CA."""


@dataclass(frozen=True)
class LogFile:
    """One log file of a server, where Exchange keeps it: ``folder`` is relative to the
    Exchange install folder (``TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpSend``)."""

    folder: str
    name: str
    read: Callable[[], str] = field(compare=False, repr=False)
    """Renders the file as on disk (header lines, records, CRLF line ends): only a file a
    cmdlet reads is rendered, not every log of the server."""
    last_write_time: datetime

    @property
    def text(self) -> str:
        """The file's text, rendered now."""
        return self.read()


class ShellHost(Protocol):
    """What the shell needs from the lab: organizations, certificate stores, mail and queues.

    The lab actions (``*-Lab*`` cmdlets, Suspend-/Resume-Queue) name servers lab-wide: a server
    name is unique in the lab, whatever organization the shell runs on. The shell checks every
    name against :meth:`organization_names` and the organizations' servers before it calls the
    host, so a host method may treat an unknown name as a programming error.
    """

    def organization_names(self) -> Sequence[str]:
        """The names of the lab's organizations, in definition order (as spelled in the lab)."""
        ...

    def organization(self, name: str) -> Organization:
        """The current configuration of organization ``name``."""
        ...

    def replace_organization(self, organization: Organization) -> None:
        """Store a changed configuration (matched by name); the engine reads it from then on."""
        ...

    def certificate_store(self, server: str) -> CertificateStore:
        """The (mutable) certificate stores of ``server``."""
        ...

    def certificate_folder(self) -> Path:
        """The lab's certificate folder, against which relative -FilePath values resolve."""
        ...

    def now(self) -> datetime:
        """Lab time (aware UTC)."""
        ...

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
        """Submit a message as Send-MailMessage would; return its Message-Id."""
        ...

    def queues(self, organization: str, server: str | None) -> Sequence[QueueView]:
        """Get-Queue rows of one server, or of every Mailbox server when ``server`` is None."""
        ...

    def messages(self, organization: str, queue: str | None) -> Sequence[MessageView]:
        """Get-Message rows of one queue (identity), or of every queue when None."""
        ...

    def retry_queue(self, organization: str, identity: str) -> None:
        """Retry a queue now; raises CmdletError when the queue is unknown or not in Retry."""
        ...

    def suspend_queue(self, organization: str, identity: str) -> None:
        """Suspend-Queue: no delivery attempts from the queue until it is resumed; its Status
        shows Suspended. Raises CmdletError when the queue is unknown."""
        ...

    def resume_queue(self, organization: str, identity: str) -> None:
        """Resume-Queue: the queue takes up delivery again (its Status leaves Suspended). Raises
        CmdletError when the queue is unknown."""
        ...

    def suspend_message(self, organization: str, identity: str) -> None:
        """Suspend-Message: the message ``identity`` (a Get-Message Identity, exactly) stays in
        its queue and no attempt sends it. Raises CmdletError when there is no such message."""
        ...

    def resume_message(self, organization: str, identity: str) -> None:
        """Resume-Message: the message may be sent again. Raises CmdletError when there is no
        such message."""
        ...

    def remove_message(self, organization: str, identity: str, with_ndr: bool) -> None:
        """Remove-Message: the message leaves its queue (its sender gets an NDR if
        ``with_ndr``). Raises CmdletError when there is no such message."""
        ...

    # -- lab actions (not Exchange: the trainer's hand on the lab) ----------------------------

    def stop_server(self, server: str, cause: str = "Stop-LabServer") -> None:
        """Stop-LabServer: the server's listeners close and its queues stop (connections to it
        then fail as to a host that is down). ``server`` is a lab server's name; ``cause`` names
        the command for the lab's observers (``Stop-Service MSExchangeTransport``)."""
        ...

    def start_server(self, server: str, cause: str = "Start-LabServer") -> None:
        """Start-LabServer: listeners open again and the waiting queues are retried at once;
        ``cause`` as for :meth:`stop_server`."""
        ...

    def server_running(self, server: str) -> bool:
        """Whether the server is running (Get-LabServer's Running column)."""
        ...

    def listening_ports(self, server: str) -> Sequence[tuple[int, int]]:
        """(Exchange port, port in use after the lab's offset) of each socket the server listens
        on, sorted (Get-LabServer's Ports column); empty while the server is stopped."""
        ...

    def certification_authority(self, organization: str) -> str:
        """The name of the CA whose CRL Set-LabCrl controls for ``organization`` (the lab's
        public CA for :data:`PUBLIC_CA`), e.g. ``Adatum Root CA``."""
        ...

    def set_crl_reachable(self, organization: str, reachable: bool) -> None:
        """Set-LabCrl: make the CRL of the organization's CA (or the public CA, for
        :data:`PUBLIC_CA`) reachable or unreachable at its distribution point."""
        ...

    def crl_reachable(self, organization: str) -> bool:
        """Whether that CRL can be fetched now."""
        ...

    def revoke_certificate(self, server: str, thumbprint: str) -> str:
        """Revoke-LabCertificate: the issuing CA revokes the certificate ``thumbprint`` of
        ``server``'s personal store at lab time; returns the CA's name. Raises CmdletError when
        the certificate is self-signed or its issuer is not a CA of the lab."""
        ...

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
        """New-LabCertificate / New-ExchangeCertificate: issue a certificate with a new private
        key, add it to ``server``'s personal store, and return it.

        ``issuer`` is ``"own"`` (the server's organization's CA), ``"public"`` (the lab's public
        CA), an organization's name as :meth:`organization_names` spells it (that organization's
        CA) or ``"self"`` (self-signed). ``subject_name`` is ``CN=<name>`` or ``CN=<name>,
        O=<org>`` (checked by the shell; :func:`labsim.ems.conversions.parse_subject_name` splits
        it). ``domain_names`` are the SAN DNS names, exactly (may be empty). NotBefore is lab time
        plus ``not_before_days`` days (negative: in the past), NotAfter is NotBefore plus
        ``valid_days`` days. ``services`` use Exchange's spelling (``SMTP``, ``IIS``…), ``eku``
        OpenSSL's (``serverAuth``, ``clientAuth``, ``emailProtection``, ``codeSigning``; empty:
        no EKU extension, any purpose).
        """
        ...

    def request_certificate(
        self, server: str, *, subject_name: str, domain_names: Sequence[str], friendly_name: str
    ) -> PendingRequest:
        """New-ExchangeCertificate -GenerateRequest: a new private key on ``server`` and a
        PKCS #10 request for ``subject_name`` (an X.500 name as typed, e.g. ``C=US, O=Adatum,
        CN=mail.adatum.com``) and the SAN ``domain_names``, kept in the server's REQUEST store
        (:meth:`CertificateStore.requests`) and returned. Raises PkiError for a bad name."""
        ...

    def sign_certificate_request(
        self, request: CertificateRequest, *, issuer: str, template: str, valid_days: int
    ) -> ExchangeCertificate:
        """Submit-LabCertificateRequest: the CA of organization ``issuer`` (as
        :meth:`organization_names` spells it, or ``"public"``) issues a certificate for
        ``request`` under ``template`` (:data:`labsim.pki.requests.TEMPLATES`), valid
        ``valid_days`` days from lab time. The record has no private key."""
        ...

    def known_authorities(self) -> tuple[Certificate, ...]:
        """Every CA certificate of the lab (where Windows finds an imported certificate's
        issuers)."""
        ...

    def lab_time(self) -> datetime:
        """Lab time (aware UTC); the same clock as :meth:`now`."""
        ...

    def tracking_records(self, server: str) -> Sequence[TrackingRecord]:
        """The message tracking records of ``server`` (a name of the lab), in log order
        (Get-MessageTrackingLog)."""
        ...

    def log_files(self, server: str) -> Sequence[LogFile]:
        """The protocol and message tracking log files ``server`` has written so far, in
        Exchange's folders (Get-ChildItem, Get-Content and Select-String read them)."""
        ...

    def event_log_entries(self, server: str) -> Sequence[EventLogEntry]:
        """The Application event log entries of ``server`` (a name of the lab), oldest first
        (Get-EventLog)."""
        ...
