"""Events of the sans-io SMTP sessions, and the NEED_DATA / PAUSED sentinels.

``ServerSession.next_event()`` returns the server events (one per command received, plus the
message data, the session's own rejections and the close); ``ClientSession.next_event()``
returns the client events (one per reply). All events are frozen dataclasses. Command events
carry ``line``, the command line exactly as received (decoded, without CRLF), because the
protocol log records what the peer sent, not our parsed reading of it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeAlias

from .reply import Reply

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "ClientEvent",
    "CommandRejected",
    "ConnectionClosed",
    "AuthResponse",
    "Bdat",
    "ChunkReceived",
    "Data",
    "Ehlo",
    "ExchangeAuth",
    "Helo",
    "LineTooLong",
    "MailFrom",
    "MessageReceived",
    "Noop",
    "ProtocolViolation",
    "Quit",
    "RcptTo",
    "ReplyReceived",
    "Rset",
    "Sentinel",
    "ServerEvent",
    "StartTls",
    "TooManyProtocolErrors",
    "UnsolicitedReply",
]


class Sentinel(enum.Enum):
    """Values ``next_event()`` returns when there is no event to hand out."""

    NEED_DATA = "NEED_DATA"
    """Nothing to do until more bytes arrive (``receive_data``)."""
    PAUSED = "PAUSED"
    """An event is waiting for the owner's ``respond()``; later commands stay buffered."""

    def __repr__(self) -> str:
        return self.value


NEED_DATA: Final = Sentinel.NEED_DATA
"""Returned by ``next_event()`` when more bytes are needed."""

PAUSED: Final = Sentinel.PAUSED
"""Returned by ``ServerSession.next_event()`` while a command awaits the owner's reply."""


def _frozen_parameters(parameters: Mapping[str, str | None]) -> Mapping[str, str | None]:
    return MappingProxyType(dict(parameters))


# --- server side: commands --------------------------------------------------------------


@dataclass(frozen=True)
class Ehlo:
    """``EHLO domain``; answer with the EHLO reply (its extension lines are what is offered)."""

    domain: str
    line: str


@dataclass(frozen=True)
class Helo:
    """``HELO domain``; a positive reply greets the session without extensions."""

    domain: str
    line: str


@dataclass(frozen=True)
class StartTls:
    """``STARTTLS`` (only surfaced when it was offered and TLS is not active yet).

    A 220 reply switches the session to TLS: the owner starts the TLS handshake right after
    writing the reply bytes.
    """

    line: str


@dataclass(frozen=True)
class ExchangeAuth:
    """``X-EXPS mechanism`` (Exchange Server authentication; only surfaced when advertised).

    A 334 reply (a challenge) makes the next line the client's response (:class:`AuthResponse`);
    235 authenticates, any other reply leaves the session as it was.
    """

    mechanism: str
    line: str


@dataclass(frozen=True)
class AuthResponse:
    """The client's answer to a 334 challenge: one base64 line (``*`` cancels, RFC 4954).

    Protocol logs never record it (it is a credential); ``line`` is kept for the owner only.
    Any reply but another 334 ends the exchange and returns the session to the greeted state.
    """

    line: str


@dataclass(frozen=True)
class MailFrom:
    """``MAIL FROM:<address> params``; ``address`` is "" for the null sender ``<>``.

    ``parameters`` maps upper-cased ESMTP keywords to their value (None for a bare keyword);
    SIZE is checked to be a number and BODY to be 7BIT or 8BITMIME (or BINARYMIME, when the
    EHLO reply offered it) before the event is surfaced.
    """

    address: str
    parameters: Mapping[str, str | None] = field(hash=False)
    line: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_parameters(self.parameters))

    @property
    def size(self) -> int | None:
        """The declared message size (``SIZE=``), or None if the client did not declare one."""
        value = self.parameters.get("SIZE")
        return int(value) if value is not None else None

    @property
    def body(self) -> str | None:
        """The declared body type (``7BIT``, ``8BITMIME`` or ``BINARYMIME``, upper case), or None."""
        value = self.parameters.get("BODY")
        return value.upper() if value is not None else None


@dataclass(frozen=True)
class RcptTo:
    """``RCPT TO:<address> params``; ``parameters`` as for ``MailFrom`` (NOTIFY, ORCPT, …)."""

    address: str
    parameters: Mapping[str, str | None] = field(hash=False)
    line: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_parameters(self.parameters))


@dataclass(frozen=True)
class Data:
    """``DATA``; a 354 reply makes the session read message data until ``CRLF.CRLF``."""

    line: str


@dataclass(frozen=True)
class Bdat:
    """``BDAT <size> [LAST]`` (RFC 3030; only surfaced when CHUNKING was offered), before its
    octets are read.

    The owner either lets the chunk in with ``ServerSession.accept_chunk()`` (nothing is
    written: the reply comes once the octets are read, to the :class:`ChunkReceived` or, for
    the LAST chunk, the :class:`MessageReceived` that follows) or refuses it with a 4xx/5xx
    ``respond()``, after which the session still reads and discards the ``size`` octets, as
    RFC 3030 §2 requires of a refused BDAT.
    """

    size: int
    last: bool
    line: str


@dataclass(frozen=True)
class ChunkReceived:
    """The octets of a BDAT chunk that is not the last, read in full.

    A 250 keeps the transaction open for the next chunk; any other reply ends it (the chunks
    received so far are discarded).
    """

    size: int
    """The chunk's octets."""
    oversized: int = 0
    """Nonzero when the message so far went over the owner's ``message_size_limit``: the data
    is discarded and this is the message's size in octets up to and including this chunk."""


@dataclass(frozen=True)
class MessageReceived:
    """The message data of one transaction, complete.

    ``content`` is after dot-unstuffing, with its line ends as sent (CRLF) and without the
    terminating ``.`` line; after BDAT it is the chunks' octets exactly as sent, the LAST one
    included. Any reply ends the transaction.
    """

    content: bytes
    oversized: int = 0
    """Nonzero when the data went over the owner's ``message_size_limit`` while it was read:
    it was discarded as it came (``content`` is empty) and this is its full size in octets."""

    @property
    def size(self) -> int:
        """The message's size in octets."""
        return self.oversized or len(self.content)


@dataclass(frozen=True)
class Rset:
    """``RSET``; a positive reply aborts the transaction."""

    line: str


@dataclass(frozen=True)
class Noop:
    """``NOOP`` (an argument, allowed by RFC 5321, is ignored)."""

    line: str


@dataclass(frozen=True)
class Quit:
    """``QUIT``; a 221 reply closes the session."""

    line: str


# --- server side: answered by the session itself -----------------------------------------


@dataclass(frozen=True)
class CommandRejected:
    """A command the session refused by itself (sequence, syntax, unknown verb).

    The reply's bytes are waiting in ``ServerSession.data_to_send()``; the owner writes them and
    may log ``line`` and ``reply``. It counts toward MaxProtocolErrors.
    """

    line: str
    reply: Reply


@dataclass(frozen=True)
class LineTooLong:
    """A command line above the session's limit; ``line`` holds only its beginning.

    Answered by the session like ``CommandRejected`` (bytes in ``data_to_send()``); the rest of
    the line is discarded as it arrives. It counts toward MaxProtocolErrors.
    """

    line: str
    reply: Reply


@dataclass(frozen=True)
class TooManyProtocolErrors:
    """MaxProtocolErrors was reached: the session sent ``reply`` (421) and is closed.

    The reply bytes are in ``data_to_send()``; the owner writes them and drops the connection.
    """

    reply: Reply


# --- both sides ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer closed the connection (``receive_data(b"")``); nothing else will arrive."""


# --- client side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyReceived:
    """The server's reply to the oldest outstanding command.

    ``command`` is the verb sent (``EHLO``, ``HELO``, ``STARTTLS``, ``MAIL``, ``RCPT``, ``DATA``,
    ``BDAT``, ``RSET``, ``NOOP``, ``QUIT``), ``MESSAGE`` for the reply after the message data, or
    ``GREETING`` for the banner. ``argument`` is the EHLO/HELO name or the MAIL/RCPT address.
    """

    command: str
    argument: str
    reply: Reply


@dataclass(frozen=True)
class UnsolicitedReply:
    """A reply arrived while no command was outstanding (e.g. a 421 before closing)."""

    reply: Reply


@dataclass(frozen=True)
class ProtocolViolation:
    """The server sent bytes that are not SMTP replies; the owner should drop the connection.

    After this event the client session is broken: it returns NEED_DATA (or ConnectionClosed)
    and refuses to send further commands.
    """

    description: str


ServerEvent: TypeAlias = (
    Ehlo
    | Helo
    | StartTls
    | ExchangeAuth
    | AuthResponse
    | MailFrom
    | RcptTo
    | Data
    | Bdat
    | ChunkReceived
    | MessageReceived
    | Rset
    | Noop
    | Quit
    | CommandRejected
    | LineTooLong
    | TooManyProtocolErrors
    | ConnectionClosed
)
"""Everything ``ServerSession.next_event()`` can return besides the sentinels."""

ClientEvent: TypeAlias = ReplyReceived | UnsolicitedReply | ProtocolViolation | ConnectionClosed
"""Everything ``ClientSession.next_event()`` can return besides NEED_DATA."""
