"""Pure decisions and encodings of a lab's saved state (no SQLite, no Twisted here).

Owns: which shell statements are configuration (journaled and replayed) and which only read
or act on mail; the identity of a lab definition a state folder belongs to; how certificates,
certification authorities, delivered messages, tracking records and Application event log
entries become plain JSON text or table rows and back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from labsim.errors import CmdletError
from labsim.logs.event_log import EntryType, EventLogEntry
from labsim.logs.tracking import Directionality, TrackingEventId, TrackingRecord, TrackingSource
from labsim.model.mail import DeliveredMessage
from labsim.pki.ca import CertificateAuthority
from labsim.pki.certificate import ExchangeCertificate
from labsim.pki.keys import load_private_key_pem, private_key_pem

READ_ONLY_VERBS = frozenset({"get", "format", "test", "select", "where", "sort", "measure", "out"})
"""Verbs of cmdlets that only read: a statement made of them alone is not journaled."""

NOT_CONFIGURATION = frozenset(
    {
        "send-mailmessage",
        "retry-queue",
        "suspend-queue",
        "resume-queue",
        "suspend-message",
        "resume-message",
        "remove-message",
        "export-exchangecertificate",
    }
)
"""Cmdlets that act on mail or files, not on configuration: never replayed (the mail a
Send-MailMessage sent is in the queues and mailboxes already; queue and message operations act
on queues that the restart rebuilds: a removed message is gone from the saved queue, and
replaying Remove-Message would name a message of the old run)."""


def cmdlet_names(statement: str) -> tuple[str, ...] | None:
    """The canonical names of the cmdlets of a statement, or None when it does not parse."""
    from labsim.ems.cmdlets import default_catalog
    from labsim.ems.parser import parse

    catalog = default_catalog()
    try:
        pipelines = parse(statement)
        return tuple(catalog.find(call.name).name for p in pipelines for call in p.calls())
    except CmdletError:
        return None


def changes_configuration(statement: str) -> bool:
    """Whether a statement (as typed) belongs in the configuration journal."""
    names = cmdlet_names(statement)
    if not names:
        return False
    return any(
        name.lower() not in NOT_CONFIGURATION
        and name.split("-", 1)[0].lower() not in READ_ONLY_VERBS
        for name in names
    )


def statements_to_journal(commands: Sequence[str], failed: bool) -> list[str]:
    """The statements of a shell block to keep: those that ran to the end and changed
    configuration (a block stops at its first error; that statement is not kept)."""
    done = commands[:-1] if failed else commands
    return [text for text in done if changes_configuration(text)]


def lab_identity(definition: Any) -> str:
    """What a state folder must match: the lab's name, organizations and servers."""
    parts = [str(definition.name)]
    for org_def in definition.organizations:
        org = org_def.organization
        parts.append(org.name + ":" + ",".join(sorted(s.name for s in org.servers)))
    return "|".join(parts)


# --- certificates ---------------------------------------------------------------------------


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _load(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode("ascii"))


def encode_certificate(certificate: ExchangeCertificate) -> str:
    """An Exchange certificate (with its key, chain, services, friendly name) as JSON."""
    return json.dumps(
        {
            "certificate": _pem(certificate.certificate),
            "key": None
            if certificate.private_key is None
            else private_key_pem(certificate.private_key).decode("ascii"),
            "chain": [_pem(c) for c in certificate.chain],
            "services": sorted(certificate.services),
            "friendly_name": certificate.friendly_name,
            "exportable": certificate.private_key_exportable,
        }
    )


def decode_certificate(text: str) -> ExchangeCertificate:
    """The certificate :func:`encode_certificate` wrote."""
    data = json.loads(text)
    key = data["key"]
    return ExchangeCertificate(
        _load(data["certificate"]),
        None if key is None else load_private_key_pem(key.encode("ascii"), source="state"),
        tuple(_load(c) for c in data["chain"]),
        frozenset(data["services"]),
        data["friendly_name"],
        data.get("exportable", True),
    )


def encode_authority(ca: CertificateAuthority) -> str:
    """A certification authority (certificate, key, chain, CRL location) as JSON."""
    return json.dumps(
        {
            "certificate": _pem(ca.certificate),
            "key": private_key_pem(ca.private_key).decode("ascii"),
            "chain": [_pem(c) for c in ca.chain],
            "crl": ca.crl_distribution_point,
        }
    )


def decode_authority(text: str) -> CertificateAuthority:
    """The authority :func:`encode_authority` wrote (no revocations: they are replayed)."""
    data = json.loads(text)
    return CertificateAuthority(
        _load(data["certificate"]),
        load_private_key_pem(data["key"].encode("ascii"), source="state"),
        chain=tuple(_load(c) for c in data["chain"]),
        crl_distribution_point=data["crl"],
    )


# --- mailboxes and tracking -----------------------------------------------------------------


def delivered_row(message: DeliveredMessage) -> tuple[str, str, str, bytes, str, str]:
    """The columns of a delivered message (mailbox, sender, subject, content, time, id)."""
    return (
        message.mailbox,
        message.mail_from,
        message.subject,
        message.content,
        message.delivered_at.isoformat(),
        message.message_id,
    )


def delivered_from_row(row: Sequence[Any]) -> DeliveredMessage:
    """The delivered message of a row :func:`delivered_row` made."""
    mailbox, mail_from, subject, content, at, message_id = row
    return DeliveredMessage(
        mailbox=mailbox,
        mail_from=mail_from,
        subject=subject,
        content=bytes(content),
        delivered_at=datetime.fromisoformat(at),
        message_id=message_id,
    )


_TUPLES = ("recipient_address", "recipient_status", "reference")


def encode_tracking(record: TrackingRecord) -> str:
    """A tracking record as JSON (every field; enums by Exchange's spelling)."""
    data: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, TrackingSource | TrackingEventId | Directionality):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return json.dumps(data)


def decode_tracking(text: str) -> TrackingRecord:
    """The record :func:`encode_tracking` wrote."""
    data = json.loads(text)
    data["date_time"] = datetime.fromisoformat(data["date_time"])
    data["source"] = TrackingSource(data["source"])
    data["event_id"] = TrackingEventId(data["event_id"])
    if data["directionality"] is not None:
        data["directionality"] = Directionality(data["directionality"])
    for name in _TUPLES:
        data[name] = tuple(data[name])
    return TrackingRecord(**data)


def encode_recipients(recipients: Iterable[str]) -> str:
    """A recipient list as JSON."""
    return json.dumps(list(recipients))


EventRow = tuple[str, int, str, str, str, int, str, str, int, str, str, str]
"""The columns of an Application log entry in the ``event_log`` table (see :func:`event_row`)."""


def event_row(server: str, entry: EventLogEntry) -> EventRow:
    """The columns of ``server``'s event log entry: server, index, time, entry type, source,
    event id, name, category, category number, message, replacement strings (JSON), machine."""
    return (
        server,
        entry.index,
        entry.time_generated.isoformat(),
        entry.entry_type.value,
        entry.source,
        entry.event_id,
        entry.name,
        entry.category,
        entry.category_number,
        entry.message,
        json.dumps(list(entry.replacement_strings)),
        entry.machine_name,
    )


def event_from_row(row: Sequence[Any]) -> tuple[str, EventLogEntry]:
    """The server and the entry of a row :func:`event_row` made."""
    (
        server,
        index,
        time_generated,
        entry_type,
        source,
        event_id,
        name,
        category,
        category_number,
        message,
        strings,
        machine_name,
    ) = row
    return server, EventLogEntry(
        index=int(index),
        time_generated=datetime.fromisoformat(time_generated),
        entry_type=EntryType(entry_type),
        source=source,
        event_id=int(event_id),
        name=name,
        category=category,
        category_number=int(category_number),
        message=message,
        replacement_strings=tuple(json.loads(strings)),
        machine_name=machine_name,
    )
