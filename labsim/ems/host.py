"""The interface the running lab implements for the shell (:class:`ShellHost`).

The shell is pure: it never touches sockets, queues or the clock itself. Everything it reads or
changes outside the organization records goes through this protocol, which ``labsim.lab``
implements over the live lab and the tests implement with a small fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from labsim.model.mail import MessageView, QueueView
from labsim.model.organization import Organization

if TYPE_CHECKING:
    # Imported for typing only: labsim.pki pulls in service_identity (and through it pyOpenSSL),
    # and the shell must stay importable without them being loaded.
    from labsim.pki.store import CertificateStore


class ShellHost(Protocol):
    """What the shell needs from the lab: organizations, certificate stores, mail and queues."""

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
