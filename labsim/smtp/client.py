"""The client side of an SMTP session, sans-io: commands out as bytes, replies in as events.

``ClientSession`` owns command formatting, dot-stuffing of message data after DATA and the
framing of BDAT chunks (RFC 3030: the size, then exactly that many octets), the FIFO that matches
replies to outstanding commands (several may be outstanding under PIPELINING), the extensions
of the last EHLO reply and the STARTTLS switch. It owns no policy: whether to STARTTLS, which
certificate to check, what to do with a 4xx, is the owner's (the engine's send connector).

Owner misuse (a command before the greeting was read, message data without a 354, pipelining
that RFC 2920 forbids) raises ``LocalProtocolError``. Server misbehaviour (unparseable bytes,
a reply nobody asked for) becomes ``ProtocolViolation``/``UnsolicitedReply`` events.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType

from .dotstuff import normalize_line_ends, stuff
from .errors import LocalProtocolError
from .events import (
    NEED_DATA,
    ClientEvent,
    ConnectionClosed,
    ProtocolViolation,
    ReplyReceived,
    Sentinel,
    UnsolicitedReply,
)
from .reply import Reply, ReplyParser, ehlo_extensions

__all__ = ["ClientSession"]

#: Commands after which the client must wait for the reply before sending anything else
#: (RFC 2920 §3.1: EHLO, DATA, STARTTLS, QUIT end a pipelined group; HELO likewise since
#: the server's capabilities are unknown until it answers).
_GROUP_ENDERS = frozenset(
    {"GREETING", "EHLO", "HELO", "STARTTLS", "X-EXPS", "AUTH-RESPONSE", "DATA", "BDAT", "QUIT"}
)
# labsim sends a message as one ``BDAT <n> LAST`` and waits for its reply, as after the data of
# DATA: the reply decides the transaction, so nothing is pipelined behind it.

_ESMTP_KEYWORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")
_ESMTP_VALUE_RE = re.compile(r"[\x21-\x3c\x3e-\x7e]+")
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


class _ClientState(enum.Enum):
    OPEN = "Open"
    BROKEN = "Broken"
    CLOSED = "Closed"


def _check_token(value: str, what: str) -> None:
    if not _TOKEN_RE.fullmatch(value):
        raise LocalProtocolError(f"{what} must be printable ASCII without spaces: {value!r}")


class ClientSession:
    """One SMTP client session (one TCP connection), without I/O.

    Use: ``receive_data(segment)`` for every segment read, then loop ``next_event()`` until
    NEED_DATA. The first event is the greeting (``ReplyReceived("GREETING", …)``). Each
    ``send_*`` method returns the bytes to write. After a 220 to STARTTLS, start TLS on the
    transport and send EHLO again: ``extensions`` is cleared and ``tls_active`` is set.
    """

    def __init__(self, *, tls_active: bool = False) -> None:
        self._parser = ReplyParser()
        self._outstanding: deque[tuple[str, str]] = deque([("GREETING", "")])
        self._greeting_received = False
        self._greeted = False
        self._in_transaction = False
        self._awaiting_message = False
        self._awaiting_auth_response = False
        self._extensions: dict[str, str] = {}
        self._tls_active = tls_active
        self._state = _ClientState.OPEN
        self._peer_closed = False
        self._discarded_after_starttls = 0

    # --- read-only views ------------------------------------------------------------------

    @property
    def extensions(self) -> Mapping[str, str]:
        """Extensions from the last EHLO reply: keyword → parameters (``{"SIZE": "37748736"}``)."""
        return MappingProxyType(self._extensions)

    @property
    def tls_active(self) -> bool:
        """True once the server answered STARTTLS with 220 (or the session started under TLS)."""
        return self._tls_active

    @property
    def outstanding(self) -> tuple[str, ...]:
        """The commands sent and not yet answered, oldest first."""
        return tuple(command for command, _ in self._outstanding)

    @property
    def discarded_after_starttls(self) -> int:
        """Plaintext octets the server sent after its 220 to STARTTLS, thrown away."""
        return self._discarded_after_starttls

    # --- commands ---------------------------------------------------------------------------

    def send_ehlo(self, name: str) -> bytes:
        """``EHLO name``."""
        _check_token(name, "EHLO name")
        return self._send("EHLO", name, f"EHLO {name}")

    def send_helo(self, name: str) -> bytes:
        """``HELO name``."""
        _check_token(name, "HELO name")
        return self._send("HELO", name, f"HELO {name}")

    def send_starttls(self) -> bytes:
        """``STARTTLS``; only allowed after the server advertised it and before TLS is active."""
        if self._tls_active:
            raise LocalProtocolError("TLS is already active")
        if "STARTTLS" not in self._extensions:
            raise LocalProtocolError("the server did not advertise STARTTLS")
        return self._send("STARTTLS", "", "STARTTLS")

    def send_exps(self, mechanism: str) -> bytes:
        """``X-EXPS mechanism`` (Exchange Server authentication); needs X-EXPS advertised."""
        if not self._greeted:
            raise LocalProtocolError("X-EXPS before a successful EHLO")
        offered = self._extensions.get("X-EXPS")
        if offered is None:
            raise LocalProtocolError("the server did not advertise X-EXPS")
        _check_token(mechanism, "X-EXPS mechanism")
        return self._send("X-EXPS", mechanism, f"X-EXPS {mechanism}")

    def send_auth_response(self, response: str) -> bytes:
        """The answer to a 334 challenge (one base64 line); only right after that 334."""
        if not self._awaiting_auth_response:
            raise LocalProtocolError("an authentication response needs a 334 challenge first")
        _check_token(response, "authentication response")
        self._awaiting_auth_response = False
        self._check_can_send("AUTH-RESPONSE")
        self._outstanding.append(("AUTH-RESPONSE", ""))
        return f"{response}\r\n".encode("ascii")

    def send_mail(self, address: str, parameters: Mapping[str, str | None] | None = None) -> bytes:
        """``MAIL FROM:<address> KEY=VALUE …``; ``address`` "" sends the null sender ``<>``."""
        if not self._greeted:
            raise LocalProtocolError("MAIL before a successful EHLO/HELO")
        if address:
            _check_token(address, "sender address")
        line = f"MAIL FROM:<{address}>{_format_parameters(parameters)}"
        out = self._send("MAIL", address, line)
        self._in_transaction = True
        return out

    def send_rcpt(self, address: str, parameters: Mapping[str, str | None] | None = None) -> bytes:
        """``RCPT TO:<address> KEY=VALUE …``."""
        if not self._in_transaction:
            raise LocalProtocolError("RCPT before MAIL")
        _check_token(address, "recipient address")
        return self._send("RCPT", address, f"RCPT TO:<{address}>{_format_parameters(parameters)}")

    def send_data(self) -> bytes:
        """``DATA``; the message itself goes with ``send_message`` once 354 came back."""
        if not self._in_transaction:
            raise LocalProtocolError("DATA before MAIL")
        return self._send("DATA", "", "DATA")

    def send_message(self, content: bytes) -> bytes:
        """The message data, dot-stuffed, CRLF-normalized and terminated with ``.`` CRLF."""
        if not self._awaiting_message:
            raise LocalProtocolError("send_message() needs a 354 reply to DATA first")
        self._check_can_send("MESSAGE")
        self._awaiting_message = False
        self._in_transaction = False
        self._outstanding.append(("MESSAGE", ""))
        return stuff(content)

    def send_bdat(self, content: bytes) -> bytes:
        """The whole message as one ``BDAT <n> LAST`` chunk: the command line, then the octets.

        Needs CHUNKING in the server's EHLO reply and an accepted recipient's transaction (the
        owner has read the RCPT replies). Line ends are made CRLF and a missing last CRLF is
        added, as ``send_message`` does, so the receiver stores the same octets whichever verb
        carried them; nothing is dot-stuffed (RFC 3030 §2). The reply is reported as ``BDAT``.
        """
        if not self._in_transaction:
            raise LocalProtocolError("BDAT before MAIL")
        if "CHUNKING" not in self._extensions:
            raise LocalProtocolError("the server did not advertise CHUNKING")
        data = normalize_line_ends(content)
        if data and not data.endswith(b"\r\n"):
            data += b"\r\n"
        line = self._send("BDAT", "", f"BDAT {len(data)} LAST")
        self._in_transaction = False
        return line + data

    def send_rset(self) -> bytes:
        """``RSET``."""
        out = self._send("RSET", "", "RSET")
        self._in_transaction = False
        return out

    def send_noop(self) -> bytes:
        """``NOOP``."""
        return self._send("NOOP", "", "NOOP")

    def send_quit(self) -> bytes:
        """``QUIT``."""
        return self._send("QUIT", "", "QUIT")

    # --- replies ----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the server; ``b""`` means the server closed the connection."""
        if self._peer_closed:
            if data:
                raise LocalProtocolError("receive_data() after the connection was closed")
            return
        if not data:
            self._peer_closed = True
            return
        self._parser.feed(data)

    def next_event(self) -> ClientEvent | Sentinel:
        """The next reply event, NEED_DATA, or ConnectionClosed once the server closed."""
        if self._state is _ClientState.OPEN:
            reply = self._parser.next_reply()
            if reply is not None:
                return self._on_reply(reply)
            if self._parser.error is not None:
                self._state = _ClientState.BROKEN
                return ProtocolViolation(self._parser.error)
        if self._peer_closed:
            self._state = _ClientState.CLOSED
            return ConnectionClosed()
        return NEED_DATA

    # --- internals --------------------------------------------------------------------------

    def _check_can_send(self, command: str) -> None:
        if self._state is not _ClientState.OPEN:
            raise LocalProtocolError(f"cannot send {command}: the session is {self._state.value}")
        if not self._greeting_received:
            raise LocalProtocolError(f"cannot send {command} before the greeting was read")
        if self._outstanding:
            last = self._outstanding[-1][0]
            if last in _GROUP_ENDERS:
                raise LocalProtocolError(f"cannot send {command} while {last} awaits its reply")
            if "PIPELINING" not in self._extensions:
                raise LocalProtocolError(
                    f"cannot send {command} while {last} awaits its reply: "
                    "the server did not advertise PIPELINING"
                )

    def _send(self, command: str, argument: str, line: str) -> bytes:
        self._check_can_send(command)
        if self._awaiting_auth_response:
            raise LocalProtocolError(f"cannot send {command}: the server awaits an auth response")
        if self._awaiting_message:
            raise LocalProtocolError(f"cannot send {command}: the server is waiting for data")
        self._outstanding.append((command, argument))
        return f"{line}\r\n".encode("ascii")

    def _on_reply(self, reply: Reply) -> ClientEvent:
        if not self._outstanding:
            return UnsolicitedReply(reply)
        command, argument = self._outstanding.popleft()
        if command == "GREETING":
            self._greeting_received = True
        elif command in ("EHLO", "HELO"):
            self._greeted = reply.is_positive_completion
            self._extensions = ehlo_extensions(reply) if command == "EHLO" else {}
            self._in_transaction = False
        elif command == "STARTTLS" and reply.code == 220:
            # RFC 3207 §4.2/§6: forget what the server said before TLS, and drop any plaintext
            # it sent after the 220 (it would otherwise be read as if it came over TLS).
            self._discarded_after_starttls += self._parser.discard_buffered()
            self._tls_active = True
            self._extensions = {}
            self._greeted = False
            self._in_transaction = False
        elif command in ("X-EXPS", "AUTH-RESPONSE"):
            self._awaiting_auth_response = reply.code == 334
        elif command == "DATA":
            self._awaiting_message = reply.code == 354
        elif command == "MESSAGE":
            self._in_transaction = False
        return ReplyReceived(command, argument, reply)


def _format_parameters(parameters: Mapping[str, str | None] | None) -> str:
    if not parameters:
        return ""
    parts = []
    for keyword, value in parameters.items():
        if not _ESMTP_KEYWORD_RE.fullmatch(keyword):
            raise LocalProtocolError(f"bad ESMTP parameter keyword: {keyword!r}")
        if value is None:
            parts.append(keyword)
        elif _ESMTP_VALUE_RE.fullmatch(value):
            parts.append(f"{keyword}={value}")
        else:
            raise LocalProtocolError(f"bad ESMTP parameter value for {keyword}: {value!r}")
    return " " + " ".join(parts)
