"""Errors of the sans-io SMTP core, split the way h11 splits them.

``LocalProtocolError`` is raised when the *owner* of a session misuses the API (answers a command
that is not waiting for an answer, sends MAIL before the greeting was read, …): that is a bug in
labsim and must surface as an exception. Protocol errors made by the *peer* never raise: the
server session answers them itself (``CommandRejected``/``LineTooLong`` events) and the client
session reports them as ``ProtocolViolation``/``UnsolicitedReply`` events, so nothing escapes to
the network layer.
"""

from __future__ import annotations


class LocalProtocolError(Exception):
    """The owner of an SMTP session used it in a way the protocol does not allow (a bug)."""
