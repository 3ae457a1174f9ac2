"""STARTTLS on a lab connection: Twisted's ``transport.startTLS``, with zope.interface's
declarations for the TLS layer kept alive between sessions.

Why: when Twisted puts its TLS layer on a connection, ``TLSMemoryBIOProtocol.makeConnection``
calls ``directlyProvides(tls_layer, interface)`` once for each interface the connection
provides (about ten). Each call asks zope.interface for the declaration "this TLS class plus that
interface", which zope caches only while something references it; a finished session drops the
last reference, so every new session rebuilt about ten declarations and their resolution orders,
a tenth of the CPU of a retry that fails after the handshake. Holding those declarations here
(a few dozen objects per lab process) makes every later session find them cached. Nothing an
object provides changes.
"""

from __future__ import annotations

from typing import Any

from zope.interface import providedBy
from zope.interface.declarations import Provides

_HELD: dict[tuple[type, type], list[Any]] = {}
"""The declarations kept alive, by (TLS layer class, connection class)."""


def start_tls(transport: Any, creator: Any) -> None:
    """Start TLS on ``transport`` (Twisted's ``startTLS``) with the connection creator
    ``creator``; see the module docstring for what else this does."""
    transport.startTLS(creator)
    layer_class = type(transport.protocol)
    key = (layer_class, type(transport))
    if key not in _HELD:
        # The same calls Twisted's makeConnection made: zope returns its cached declarations.
        _HELD[key] = [Provides(layer_class, interface) for interface in providedBy(transport)]
