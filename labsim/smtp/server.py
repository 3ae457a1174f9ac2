"""The server side of an SMTP session, sans-io: bytes in, events out, replies from the owner.

``ServerSession`` owns command framing, the command sequence (hello → MAIL → RCPT → DATA →
message, or BDAT chunks up to the LAST one), syntax checks, message-data framing
(dot-unstuffing and end detection after DATA; exactly the announced octets after BDAT, RFC 3030),
the MaxProtocolErrors limit and the STARTTLS protocol switch. It owns no policy: every well-formed,
in-sequence command is surfaced as an event and the owner (the engine's receive connector)
decides the reply through ``respond()``. Commands are surfaced strictly one at a time, which is
what makes PIPELINING safe: the next command is not even parsed until the previous one has its
reply, so e.g. the bytes after DATA are read as message data only if DATA got a 354.

Peer errors never raise: out-of-sequence and malformed commands are answered by the session
itself (``CommandRejected``/``LineTooLong``, reply bytes in ``data_to_send()``). Owner misuse
raises ``LocalProtocolError``. The session reads no clock and imports nothing beyond the stdlib.

The owner tells the session what it offered through the EHLO reply it passes to ``respond()``:
the session parses the extension lines of that reply, so STARTTLS, BDAT (``CHUNKING``) and
``BODY=BINARYMIME`` (``BINARYMIME``) are accepted exactly when the client was told it may use
them, and there is no second flag that could disagree with the wire.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from types import MappingProxyType

from . import replies
from .dotstuff import Unstuffer
from .errors import LocalProtocolError
from .events import (
    NEED_DATA,
    PAUSED,
    AuthResponse,
    Bdat,
    ChunkReceived,
    CommandRejected,
    ConnectionClosed,
    Data,
    Ehlo,
    ExchangeAuth,
    Helo,
    LineTooLong,
    MailFrom,
    MessageReceived,
    Noop,
    Quit,
    RcptTo,
    Rset,
    Sentinel,
    ServerEvent,
    StartTls,
    TooManyProtocolErrors,
)
from .reply import Reply, ehlo_extensions

__all__ = ["DEFAULT_MAX_PROTOCOL_ERRORS", "MAX_COMMAND_LINE", "ServerSession", "ServerState"]


class ServerState(enum.Enum):
    """Where a server session stands in the SMTP dialogue."""

    AWAITING_GREETING = "AwaitingGreeting"
    """``greeting()`` was not called yet."""
    AWAITING_HELLO = "AwaitingHello"
    """Banner sent (or TLS just started); EHLO/HELO expected."""
    GREETED = "Greeted"
    """Hello accepted; no mail transaction open."""
    MAIL = "Mail"
    """Sender accepted; no recipient yet."""
    RCPT = "Rcpt"
    """At least one recipient accepted."""
    DATA = "Data"
    """Reading message data (after a 354)."""
    BDAT = "Bdat"
    """At least one BDAT chunk accepted; more chunks (or the LAST one) expected."""
    AUTH_RESPONSE = "AuthResponse"
    """X-EXPS was answered with 334: the next line is the client's response, not a command."""
    CLOSED = "Closed"
    """QUIT answered, 421 sent, or the peer closed: nothing more is processed."""


#: Longest command line accepted, in octets without CRLF. RFC 5321 §4.5.3.1.4 says 512; labsim
#: accepts more (long parameter lists exist in the wild) but bounds it so a peer cannot make the
#: buffer grow without limit.
MAX_COMMAND_LINE = 2000

#: Exchange's receive connector default for MaxProtocolErrors.
DEFAULT_MAX_PROTOCOL_ERRORS = 5

_S = ServerState

#: Replies the session gives by itself to a command that arrives in the wrong state. Checked
#: before the arguments: an out-of-sequence command is refused whatever it carries.
_SEQUENCE_ERRORS: Mapping[tuple[str, ServerState], Reply] = {
    ("MAIL", _S.AWAITING_HELLO): replies.SEND_HELLO_FIRST,
    ("MAIL", _S.MAIL): replies.SENDER_ALREADY_SPECIFIED,
    ("MAIL", _S.RCPT): replies.SENDER_ALREADY_SPECIFIED,
    ("RCPT", _S.AWAITING_HELLO): replies.SEND_HELLO_FIRST,
    ("RCPT", _S.GREETED): replies.NEED_MAIL_COMMAND,
    ("DATA", _S.AWAITING_HELLO): replies.SEND_HELLO_FIRST,
    ("DATA", _S.GREETED): replies.NEED_MAIL_COMMAND,
    ("DATA", _S.MAIL): replies.NEED_RCPT_COMMAND,
    # RFC 3030 §2: DATA and BDAT cannot be mixed in one transaction.
    ("DATA", _S.BDAT): replies.BAD_SEQUENCE_OF_COMMANDS,
    ("BDAT", _S.GREETED): replies.NEED_MAIL_COMMAND,
    ("BDAT", _S.MAIL): replies.NEED_RCPT_COMMAND,
    ("MAIL", _S.BDAT): replies.SENDER_ALREADY_SPECIFIED,
    ("RCPT", _S.BDAT): replies.BAD_SEQUENCE_OF_COMMANDS,
    ("STARTTLS", _S.BDAT): replies.BAD_SEQUENCE_OF_COMMANDS,
    ("X-EXPS", _S.BDAT): replies.BAD_SEQUENCE_OF_COMMANDS,
    # labsim's choice: TLS cannot start in the middle of a transaction.
    ("STARTTLS", _S.MAIL): replies.BAD_SEQUENCE_OF_COMMANDS,
    ("STARTTLS", _S.RCPT): replies.BAD_SEQUENCE_OF_COMMANDS,
    ("X-EXPS", _S.AWAITING_HELLO): replies.SEND_HELLO_FIRST,
    ("X-EXPS", _S.MAIL): replies.BAD_SEQUENCE_OF_COMMANDS,
    ("X-EXPS", _S.RCPT): replies.BAD_SEQUENCE_OF_COMMANDS,
}

#: Verbs the session surfaces. Anything else (VRFY, EXPN, HELP, AUTH, …) is refused with
#: 500 5.3.3: labsim does not advertise or implement them. BDAT, X-EXPS and STARTTLS are known
#: only while the EHLO reply offers them (a verb the server does not offer is unknown to it).
_KNOWN_VERBS = frozenset(
    {"EHLO", "HELO", "STARTTLS", "X-EXPS", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT"}
)

#: Verbs that take no argument; an argument is a syntax error (501).
_NO_ARGUMENT_VERBS = frozenset({"STARTTLS", "DATA", "RSET", "QUIT"})

_VERB_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)?\Z")
_MECHANISM_RE = re.compile(r"[A-Za-z0-9\-_]{1,20}")
_HELLO_NAME_RE = re.compile(r"[A-Za-z0-9._\-]+|\[[A-Za-z0-9.:\-]+\]")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]"
_LOCAL_PART = rf'(?:{_ATEXT}+(?:\.{_ATEXT}+)*|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*")'
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[\x21-\x5a\x5e-\x7e]+\])"
_MAILBOX_RE = re.compile(rf"{_LOCAL_PART}@{_DOMAIN}")
# RFC 5321 §4.1.2: an obsolete source route "@a,@b:" before the mailbox is accepted and ignored.
_SOURCE_ROUTE_RE = re.compile(rf"@{_DOMAIN}(?:,@{_DOMAIN})*:")
_ESMTP_KEYWORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")
_ESMTP_VALUE_RE = re.compile(r"[\x21-\x3c\x3e-\x7e]+")
_BODY_TYPES = frozenset({"7BIT", "8BITMIME"})
_BODY_TYPES_WITH_BINARYMIME = _BODY_TYPES | {"BINARYMIME"}
#: ``BDAT <chunk-size> [LAST]`` (RFC 3030 §2: the size is 1*DIGIT; a bound keeps it an integer
#: the session can count down, far above any MaxMessageSize).
_BDAT_RE = re.compile(r"([0-9]{1,18})(?:[ \t]+(LAST))?\Z", re.IGNORECASE)


class _SyntaxError(Exception):
    """Internal: a command's arguments are malformed (becomes 501 5.5.4)."""


def _parse_path(text: str, *, allow_null: bool, allow_postmaster: bool) -> tuple[str, str]:
    """Split ``<path> params`` (or a bare path, which Exchange also accepts); return both."""
    if text.startswith("<"):
        end = text.find(">")
        if end == -1:
            raise _SyntaxError("unterminated path")
        path, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(" "):
            raise _SyntaxError("junk after path")
    else:
        path, _, rest = text.partition(" ")
    route = _SOURCE_ROUTE_RE.match(path)
    if route is not None:
        path = path[route.end() :]
    if path == "":
        if not allow_null:
            raise _SyntaxError("null path")
    elif not (_MAILBOX_RE.fullmatch(path) or (allow_postmaster and path.lower() == "postmaster")):
        raise _SyntaxError("invalid address")
    return path, rest.strip(" ")


def _parse_parameters(text: str) -> dict[str, str | None]:
    """Parse ESMTP parameters ``KEY=VALUE KEY …``; keywords are upper-cased."""
    parameters: dict[str, str | None] = {}
    for token in text.split():
        keyword, equals, value = token.partition("=")
        if not _ESMTP_KEYWORD_RE.fullmatch(keyword):
            raise _SyntaxError("bad parameter keyword")
        if equals and not _ESMTP_VALUE_RE.fullmatch(value):
            raise _SyntaxError("bad parameter value")
        keyword = keyword.upper()
        if keyword in parameters:
            raise _SyntaxError("duplicate parameter")
        parameters[keyword] = value if equals else None
    return parameters


def _parse_mail_or_rcpt(
    verb: str, argument: str, body_types: frozenset[str] = _BODY_TYPES
) -> tuple[str, dict[str, str | None]]:
    prefix = "FROM:" if verb == "MAIL" else "TO:"
    if argument[: len(prefix)].upper() != prefix:
        raise _SyntaxError(f"expected {prefix}")
    # "MAIL FROM: <a@b>" (a space after the colon) is common and accepted.
    path_text = argument[len(prefix) :].lstrip(" ")
    address, rest = _parse_path(
        path_text, allow_null=verb == "MAIL", allow_postmaster=verb == "RCPT"
    )
    parameters = _parse_parameters(rest)
    if verb == "MAIL":
        size = parameters.get("SIZE", "0")
        if size is None or not size.isdigit() or len(size) > 20:
            raise _SyntaxError("bad SIZE")
        body = parameters.get("BODY", "7BIT")
        if body is None or body.upper() not in body_types:
            raise _SyntaxError("bad BODY")
    return address, parameters


class ServerSession:
    """One SMTP server session (one TCP connection), without I/O.

    Use: ``greeting(banner)`` → write; then for every segment read, ``receive_data(segment)``
    and loop ``next_event()`` until NEED_DATA or PAUSED. After every event, write
    ``data_to_send()`` (non-empty only for events the session answered itself). Answer each
    command event, each ``ChunkReceived`` and each ``MessageReceived`` with ``respond(reply)``
    and write the bytes it returns (a ``Bdat`` is let in with ``accept_chunk()`` instead, or
    refused with ``respond``); after a 220 to ``StartTls``, start TLS on the transport right
    away.

    ``max_protocol_errors`` is the receive connector's MaxProtocolErrors (None: no limit);
    ``tls_active`` is for listeners whose TLS starts before SMTP (implicit TLS).
    """

    def __init__(
        self,
        *,
        max_protocol_errors: int | None = DEFAULT_MAX_PROTOCOL_ERRORS,
        max_line_length: int = MAX_COMMAND_LINE,
        tls_active: bool = False,
    ) -> None:
        if max_protocol_errors is not None and max_protocol_errors < 1:
            raise ValueError("max_protocol_errors must be at least 1 (or None for no limit)")
        self._max_protocol_errors = max_protocol_errors
        self._max_line_length = max_line_length
        self._state = ServerState.AWAITING_GREETING
        self._tls_active = tls_active
        self._helo_name: str | None = None
        self._extensions: dict[str, str] = {}
        self._buffer = bytearray()
        self._outgoing = bytearray()
        self._pending: ServerEvent | None = None
        self._queued: ServerEvent | None = None
        self._peer_closed = False
        self._discarding_long_line = False
        self._protocol_errors = 0
        self._recipient_count = 0
        self._unstuffer: Unstuffer | None = None
        self._message_parts: list[bytes] = []
        self._bytes_received = 0
        self._oversized = False
        self._discarded_after_starttls = 0
        self._chunk_remaining: int | None = None
        self._chunk_size = 0
        self._chunk_last = False
        self._skip_remaining = 0
        self._binarymime = False
        self.message_size_limit: int | None = None
        """Octets of message data kept at most (the owner sets it, e.g. at DATA or BDAT): beyond
        it the data is read to its end but discarded as it comes, so a peer cannot make the
        session hold more than the limit, and the message (or the BDAT chunk that went over)
        surfaces with ``oversized`` set."""

    # --- read-only views ------------------------------------------------------------------

    @property
    def state(self) -> ServerState:
        """The current dialogue state."""
        return self._state

    @property
    def tls_active(self) -> bool:
        """True once STARTTLS was answered with 220 (or the session started under TLS)."""
        return self._tls_active

    @property
    def helo_name(self) -> str | None:
        """The name from the accepted EHLO/HELO, or None before one (and again after STARTTLS)."""
        return self._helo_name

    @property
    def extensions(self) -> Mapping[str, str]:
        """What the accepted EHLO reply advertised (keyword → parameters); empty after HELO."""
        return MappingProxyType(self._extensions)

    @property
    def starttls_offered(self) -> bool:
        """True if the client may issue STARTTLS now (advertised, and TLS not active)."""
        return "STARTTLS" in self._extensions and not self._tls_active

    @property
    def recipient_count(self) -> int:
        """Recipients accepted in the current transaction."""
        return self._recipient_count

    @property
    def bytes_received(self) -> int:
        """Message octets (after unstuffing) read so far in the current DATA phase, or in the
        BDAT chunks of the current transaction.

        Updated by ``next_event()``; the owner compares it with MaxMessageSize and decides 552.
        """
        return self._bytes_received

    @property
    def message_octets_held(self) -> int:
        """Message octets the session holds right now (at most ``message_size_limit``)."""
        return sum(len(part) for part in self._message_parts)

    @property
    def protocol_errors(self) -> int:
        """Commands the session has rejected by itself so far."""
        return self._protocol_errors

    @property
    def discarded_after_starttls(self) -> int:
        """Plaintext octets thrown away when TLS started (pipelined after STARTTLS)."""
        return self._discarded_after_starttls

    # --- owner API --------------------------------------------------------------------------

    def greeting(self, reply: Reply) -> bytes:
        """Return the banner bytes. A non-220 banner (e.g. 421) closes the session at once."""
        if self._state is not ServerState.AWAITING_GREETING:
            raise LocalProtocolError("greeting() may be called only once, first")
        self._state = ServerState.AWAITING_HELLO if reply.code == 220 else ServerState.CLOSED
        return reply.to_bytes()

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the peer; ``b""`` means the peer closed the connection."""
        if self._peer_closed:
            if data:
                raise LocalProtocolError("receive_data() after the connection was closed")
            return
        if not data:
            self._peer_closed = True
            return
        if self._state is ServerState.CLOSED:
            # After 221/421 nothing the peer says is executed.
            return
        self._buffer += data

    def data_to_send(self) -> bytes:
        """Bytes of replies the session made by itself; empties the buffer."""
        out = bytes(self._outgoing)
        self._outgoing.clear()
        return out

    def next_event(self) -> ServerEvent | Sentinel:
        """The next event, or NEED_DATA (read more) or PAUSED (an event awaits ``respond``)."""
        if self._state is ServerState.AWAITING_GREETING:
            raise LocalProtocolError("call greeting() before next_event()")
        if self._pending is not None:
            return PAUSED
        if self._queued is not None:
            queued, self._queued = self._queued, None
            if isinstance(queued, TooManyProtocolErrors):
                self._outgoing += queued.reply.to_bytes()
                self._close()
            return queued
        if self._state is ServerState.CLOSED:
            return ConnectionClosed() if self._peer_closed else NEED_DATA
        event: ServerEvent | None
        if self._skip_remaining and not self._skip_refused_chunk():
            event = None
        elif self._chunk_remaining is not None:
            event = self._read_chunk()
        elif self._state is ServerState.DATA:
            event = self._read_data()
        else:
            event = self._read_command()
        if event is None:
            if self._peer_closed:
                # Whatever is left is an incomplete command or message: it is dropped.
                self._close()
                return ConnectionClosed()
            return NEED_DATA
        if not isinstance(event, (CommandRejected, LineTooLong)):
            self._pending = event
        return event

    def respond(self, reply: Reply) -> bytes:
        """Answer the event that is waiting; return the reply bytes and apply its effect.

        A negative reply leaves the state as it was (a refused MAIL opens no transaction),
        except after message data, where any reply ends the transaction. A 421 closes the
        session whatever it answers.
        """
        event = self._pending
        if event is None:
            raise LocalProtocolError("respond() called but no command is waiting for a reply")
        if isinstance(event, Data):
            if reply.is_positive_completion:
                raise LocalProtocolError("DATA is answered with 354 or a 4xx/5xx reply, not 2xx")
        elif isinstance(event, Bdat):
            if reply.is_positive:
                raise LocalProtocolError(
                    "BDAT is let in with accept_chunk() (its reply follows the octets) or "
                    "refused with a 4xx/5xx reply"
                )
        elif isinstance(event, (ExchangeAuth, AuthResponse)):
            if reply.is_positive and not reply.is_positive_completion and reply.code != 334:
                raise LocalProtocolError("X-EXPS is answered with 334, 235 or a 4xx/5xx reply")
        elif not reply.is_positive_completion and reply.is_positive:
            raise LocalProtocolError(f"a {reply.code} reply is valid only for DATA and X-EXPS")
        self._pending = None
        out = reply.to_bytes()
        if reply.code == 421:
            self._close()
            return out
        if isinstance(event, (ExchangeAuth, AuthResponse)):
            # 334: a challenge, the next line is the client's response; anything else ends
            # the exchange (235 authenticated, 5xx refused) back in the greeted state.
            self._state = ServerState.AUTH_RESPONSE if reply.code == 334 else ServerState.GREETED
            return out
        if isinstance(event, Bdat):
            # RFC 3030 §2: the octets of a refused chunk are still read, and thrown away.
            self._skip_remaining = event.size
            return out
        if isinstance(event, MessageReceived) or (
            isinstance(event, ChunkReceived) and not reply.is_positive_completion
        ):
            self._end_transaction()
            self._state = ServerState.GREETED
        elif reply.is_positive:
            self._apply_positive(event, reply)
        return out

    def accept_chunk(self) -> None:
        """Let the waiting BDAT chunk in: its octets are read next (nothing is written now).

        The reply comes after them, to the ``ChunkReceived`` (or, for the LAST chunk, the
        ``MessageReceived``) that the session surfaces once the octets are in.
        """
        event = self._pending
        if not isinstance(event, Bdat):
            raise LocalProtocolError("accept_chunk() answers a waiting BDAT event only")
        self._pending = None
        if self._state is not ServerState.BDAT:
            # The transaction's first chunk.
            self._message_parts = []
            self._bytes_received = 0
            self._oversized = False
            self._state = ServerState.BDAT
        self._chunk_remaining = event.size
        self._chunk_size = event.size
        self._chunk_last = event.last

    # --- internals --------------------------------------------------------------------------

    def _apply_positive(self, event: ServerEvent, reply: Reply) -> None:
        if isinstance(event, (Ehlo, Helo)):
            self._helo_name = event.domain
            self._extensions = ehlo_extensions(reply) if isinstance(event, Ehlo) else {}
            self._end_transaction()
            self._state = ServerState.GREETED
        elif isinstance(event, StartTls):
            # RFC 3207 §4.2: anything pipelined after STARTTLS was sent in plaintext and must
            # not be executed; and the client must start over with EHLO.
            self._discarded_after_starttls += len(self._buffer)
            self._buffer.clear()
            self._tls_active = True
            self._helo_name = None
            self._extensions = {}
            self._end_transaction()
            self._state = ServerState.AWAITING_HELLO
        elif isinstance(event, MailFrom):
            self._recipient_count = 0
            # RFC 3030 §3: a BINARYMIME body can travel only in BDAT chunks.
            self._binarymime = event.body == "BINARYMIME"
            self._state = ServerState.MAIL
        elif isinstance(event, RcptTo):
            self._recipient_count += 1
            self._state = ServerState.RCPT
        elif isinstance(event, Data):
            self._unstuffer = Unstuffer()
            self._message_parts = []
            self._bytes_received = 0
            self._state = ServerState.DATA
        elif isinstance(event, Rset):
            self._end_transaction()
            greeted = self._helo_name is not None
            self._state = ServerState.GREETED if greeted else ServerState.AWAITING_HELLO
        elif isinstance(event, Quit):
            self._close()

    def _end_transaction(self) -> None:
        self._recipient_count = 0
        self._unstuffer = None
        self._message_parts = []
        self._oversized = False
        self._binarymime = False

    def _close(self) -> None:
        self._state = ServerState.CLOSED
        self._buffer.clear()
        self._chunk_remaining = None
        self._skip_remaining = 0
        self._end_transaction()

    def _skip_refused_chunk(self) -> bool:
        """Throw away octets of a refused BDAT chunk; True once all of them are gone."""
        dropped = min(self._skip_remaining, len(self._buffer))
        del self._buffer[:dropped]
        self._skip_remaining -= dropped
        return self._skip_remaining == 0

    def _keep(self, piece: bytes) -> None:
        """Count message octets and hold them, unless the message went over the limit."""
        self._bytes_received += len(piece)
        limit = self.message_size_limit
        if self._oversized or (limit is not None and self._bytes_received > limit):
            self._oversized = True
            self._message_parts = []
        else:
            self._message_parts.append(piece)

    def _read_chunk(self) -> ChunkReceived | MessageReceived | None:
        remaining = self._chunk_remaining
        if remaining is None:  # pragma: no cover - only called while a chunk is read
            raise AssertionError("no BDAT chunk is being read")
        # Exactly the announced octets, whatever they hold: no line parsing, no dot-stuffing.
        take = min(remaining, len(self._buffer))
        if take:
            self._keep(bytes(self._buffer[:take]))
            del self._buffer[:take]
            remaining -= take
        self._chunk_remaining = remaining
        if remaining:
            return None
        self._chunk_remaining = None
        oversized = self._bytes_received if self._oversized else 0
        if not self._chunk_last:
            return ChunkReceived(self._chunk_size, oversized)
        content = b"" if oversized else b"".join(self._message_parts)
        self._message_parts = []
        self._oversized = False
        return MessageReceived(content, oversized)

    def _read_data(self) -> MessageReceived | None:
        unstuffer = self._unstuffer
        if unstuffer is None:  # pragma: no cover - DATA state always has one
            raise AssertionError("DATA state without an unstuffer")
        if self._buffer:
            chunk = unstuffer.feed(bytes(self._buffer))
            self._buffer.clear()
            if chunk:
                self._keep(chunk)
        if not unstuffer.done:
            return None
        self._buffer += unstuffer.leftover
        content = b"".join(self._message_parts)
        oversized = self._bytes_received if self._oversized else 0
        self._unstuffer = None
        self._message_parts = []
        self._oversized = False
        return MessageReceived(b"" if oversized else content, oversized)

    def _next_line(self) -> str | LineTooLong | None:
        if self._discarding_long_line:
            end = self._buffer.find(b"\n")
            if end == -1:
                self._buffer.clear()
                return None
            del self._buffer[: end + 1]
            self._discarding_long_line = False
        end = self._buffer.find(b"\n")
        limit = self._max_line_length
        if end == -1:
            # +1 leaves room for the CR of a line that is exactly at the limit.
            if len(self._buffer) > limit + 1:
                start = bytes(self._buffer[:limit])
                self._buffer.clear()
                self._discarding_long_line = True
                return self._too_long(start)
            return None
        raw = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        # CRLF is the rule; a bare LF is tolerated for command lines (hand-typed sessions).
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > limit:
            return self._too_long(raw[:limit])
        return raw.decode("utf-8", errors="replace")

    def _too_long(self, start: bytes) -> LineTooLong:
        line = start.decode("utf-8", errors="replace")
        self._count_error(replies.LINE_TOO_LONG)
        return LineTooLong(line, replies.LINE_TOO_LONG)

    def _count_error(self, reply: Reply) -> None:
        self._outgoing += reply.to_bytes()
        self._protocol_errors += 1
        limit = self._max_protocol_errors
        if limit is not None and self._protocol_errors >= limit:
            self._queued = TooManyProtocolErrors(replies.TOO_MANY_ERRORS)

    def _reject(self, line: str, reply: Reply) -> CommandRejected:
        self._count_error(reply)
        return CommandRejected(line, reply)

    def _read_command(self) -> ServerEvent | None:
        line = self._next_line()
        if self._state is ServerState.AUTH_RESPONSE:
            if isinstance(line, LineTooLong):
                # A response too long to be one ends the exchange (the 500 is already queued).
                self._state = ServerState.GREETED
                return line
            return None if line is None else AuthResponse(line)
        if line is None or isinstance(line, LineTooLong):
            return line
        verb, _, argument = line.partition(" ")
        argument = argument.strip(" \t")
        if not _VERB_RE.fullmatch(verb) or verb.upper() not in _KNOWN_VERBS:
            return self._reject(line, replies.UNRECOGNIZED_COMMAND)
        verb = verb.upper()
        if verb == "BDAT" and "CHUNKING" not in self._extensions:
            # Not offered (ChunkingEnabled $false, HELO, before EHLO): unknown, as in Exchange;
            # its octets are then read as commands, as by any server that lacks CHUNKING.
            return self._reject(line, replies.UNRECOGNIZED_COMMAND)
        sequence_error = _SEQUENCE_ERRORS.get((verb, self._state))
        if verb == "DATA" and self._binarymime and self._state is ServerState.RCPT:
            sequence_error = replies.BAD_SEQUENCE_OF_COMMANDS  # RFC 3030 §3
        if sequence_error is not None:
            if verb == "BDAT":
                self._skip_announced(argument)
            return self._reject(line, sequence_error)
        if verb == "STARTTLS" and not self.starttls_offered:
            return self._reject(line, replies.BAD_SEQUENCE_OF_COMMANDS)
        if verb == "X-EXPS" and "X-EXPS" not in self._extensions:
            return self._reject(line, replies.UNRECOGNIZED_COMMAND)
        if verb in _NO_ARGUMENT_VERBS and argument:
            return self._reject(line, replies.INVALID_ARGUMENTS)
        try:
            return self._command_event(verb, argument, line)
        except _SyntaxError:
            return self._reject(line, replies.INVALID_ARGUMENTS)

    def _skip_announced(self, argument: str) -> None:
        """A BDAT refused before it was surfaced: its octets follow all the same (RFC 3030)."""
        match = _BDAT_RE.fullmatch(argument)
        if match is not None:
            self._skip_remaining = int(match[1])

    def _command_event(self, verb: str, argument: str, line: str) -> ServerEvent:
        if verb in ("EHLO", "HELO"):
            if not _HELLO_NAME_RE.fullmatch(argument):
                raise _SyntaxError("bad hello name")
            return Ehlo(argument, line) if verb == "EHLO" else Helo(argument, line)
        if verb == "X-EXPS":
            if not _MECHANISM_RE.fullmatch(argument):
                raise _SyntaxError("bad mechanism")
            return ExchangeAuth(argument.upper(), line)
        if verb == "MAIL":
            body_types = (
                _BODY_TYPES_WITH_BINARYMIME if "BINARYMIME" in self._extensions else _BODY_TYPES
            )
            address, parameters = _parse_mail_or_rcpt(verb, argument, body_types)
            return MailFrom(address, parameters, line)
        if verb == "BDAT":
            match = _BDAT_RE.fullmatch(argument)
            if match is None:
                raise _SyntaxError("BDAT needs a size and optionally LAST")
            return Bdat(int(match[1]), match[2] is not None, line)
        if verb == "RCPT":
            address, parameters = _parse_mail_or_rcpt(verb, argument)
            return RcptTo(address, parameters, line)
        simple: dict[str, type[StartTls | Data | Rset | Noop | Quit]] = {
            "STARTTLS": StartTls,
            "DATA": Data,
            "RSET": Rset,
            "NOOP": Noop,
            "QUIT": Quit,
        }
        return simple[verb](line)
