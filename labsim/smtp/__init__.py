"""Sans-io SMTP for labsim: bytes in, events out (h11 style), server and client sessions.

This package owns the SMTP wire protocol and nothing else: command and reply framing, the
command sequence, dot-stuffing and BDAT chunks, PIPELINING order, STARTTLS as a protocol switch, and the catalog
of Exchange's reply texts (``replies``). Policy (which reply to give, which certificate to trust)
belongs to the layers above. It is pure: standard library only, no Twisted, no clock reads.
"""

from __future__ import annotations

from . import replies
from .client import ClientSession
from .dotstuff import Unstuffer, stuff
from .errors import LocalProtocolError
from .events import (
    NEED_DATA,
    PAUSED,
    AuthResponse,
    Bdat,
    ChunkReceived,
    ClientEvent,
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
    ProtocolViolation,
    Quit,
    RcptTo,
    ReplyReceived,
    Rset,
    Sentinel,
    ServerEvent,
    StartTls,
    TooManyProtocolErrors,
    UnsolicitedReply,
)
from .reply import Reply, ReplyParser, ehlo_extensions, parse_reply_lines
from .server import DEFAULT_MAX_PROTOCOL_ERRORS, MAX_COMMAND_LINE, ServerSession, ServerState

__all__ = [
    "DEFAULT_MAX_PROTOCOL_ERRORS",
    "MAX_COMMAND_LINE",
    "NEED_DATA",
    "PAUSED",
    "ClientEvent",
    "ClientSession",
    "AuthResponse",
    "Bdat",
    "ChunkReceived",
    "CommandRejected",
    "ConnectionClosed",
    "Data",
    "Ehlo",
    "ExchangeAuth",
    "Helo",
    "LineTooLong",
    "LocalProtocolError",
    "MailFrom",
    "MessageReceived",
    "Noop",
    "ProtocolViolation",
    "Quit",
    "RcptTo",
    "Reply",
    "ReplyParser",
    "ReplyReceived",
    "Rset",
    "Sentinel",
    "ServerEvent",
    "ServerSession",
    "ServerState",
    "StartTls",
    "TooManyProtocolErrors",
    "UnsolicitedReply",
    "Unstuffer",
    "ehlo_extensions",
    "parse_reply_lines",
    "replies",
    "stuff",
]
