"""STARTTLS on a lab connection: Twisted's ``transport.startTLS``, with zope.interface's
declarations for the TLS layer kept alive between sessions, and TLS records sent at once.

Why: when Twisted puts its TLS layer on a connection, ``TLSMemoryBIOProtocol.makeConnection``
calls ``directlyProvides(tls_layer, interface)`` once for each interface the connection
provides (about ten). Each call asks zope.interface for the declaration "this TLS class plus that
interface", which zope caches only while something references it; a finished session drops the
last reference, so every new session rebuilt about ten declarations and their resolution orders,
a tenth of the CPU of a retry that fails after the handshake. Holding those declarations here
(a few dozen objects per lab process) makes every later session find them cached. Nothing an
object provides changes.

Twisted's TLS layer (``BufferingTLSTransport``) holds every small write until the next reactor
turn, with one timer per burst: each SMTP reply or command over TLS cost a timer, a turn of its
own, and the peer's read one turn later. Lab connections already send plain data at once
(:mod:`labsim.net.loopback`); here the TLS layer's ``write`` and ``writeSequence`` are the
unbuffered ones of ``TLSMemoryBIOProtocol`` (both, so that data keeps its order), and each
record goes out when it is written. The bytes of the conversation are the same; a burst of
pipelined replies travels as several TLS records instead of one. In the live benchmark this is
2.8 % of the lab's instructions per message (bench/README.md).
"""

from __future__ import annotations

from types import MethodType
from typing import Any

from twisted.protocols.tls import TLSMemoryBIOProtocol
from zope.interface import providedBy
from zope.interface.declarations import Provides

_HELD: dict[tuple[type, type], list[Any]] = {}
"""The declarations kept alive, by (TLS layer class, connection class)."""


def start_tls(transport: Any, creator: Any) -> None:
    """Start TLS on ``transport`` (Twisted's ``startTLS``) with the connection creator
    ``creator``; see the module docstring for what else this does."""
    transport.startTLS(creator)
    layer = transport.protocol
    layer.write = MethodType(TLSMemoryBIOProtocol.write, layer)
    layer.writeSequence = MethodType(TLSMemoryBIOProtocol.writeSequence, layer)
    layer_class = type(layer)
    key = (layer_class, type(transport))
    if key not in _HELD:
        # The same calls Twisted's makeConnection made: zope returns its cached declarations.
        _HELD[key] = [Provides(layer_class, interface) for interface in providedBy(transport)]
