"""Exchange 2013's default receive connectors for a server (docs/exchange-reference.md §3.6).

The send side has none by default: an Exchange 2013 organization has no Internet send
connector until an admin creates one.
"""

from __future__ import annotations

from labsim.model.connectors import ReceiveConnector
from labsim.model.enums import (
    AuthMechanism,
    PermissionGroup,
    ProtocolLoggingLevel,
    ServerRole,
    TransportRole,
)
from labsim.model.organization import Server
from labsim.model.values import Binding, ByteSize

A = AuthMechanism
G = PermissionGroup

_FRONTEND_AUTH = frozenset(
    {A.TLS, A.BASIC_AUTH, A.BASIC_AUTH_REQUIRE_TLS, A.EXCHANGE_SERVER, A.INTEGRATED}
)


def default_receive_connectors(server: Server) -> tuple[ReceiveConnector, ...]:
    """The receive connectors Setup creates on ``server`` (docs/exchange-reference.md §3.6)."""
    name = server.name
    if server.role is ServerRole.CLIENT_ACCESS:
        fe = TransportRole.FRONTEND_TRANSPORT
        return (
            ReceiveConnector(
                name=f"Default Frontend {name}",
                server=name,
                transport_role=fe,
                bindings=(Binding("0.0.0.0", 25),),
                auth_mechanism=_FRONTEND_AUTH,
                permission_groups=frozenset(
                    {G.ANONYMOUS_USERS, G.EXCHANGE_LEGACY_SERVERS, G.EXCHANGE_SERVERS}
                ),
                max_message_size=ByteSize.mb(36),
                # The 2016 documentation shows Verbose on this connector (docs/exchange-reference.md
                # §3.6).
                protocol_logging_level=ProtocolLoggingLevel.VERBOSE,
            ),
            ReceiveConnector(
                name=f"Outbound Proxy Frontend {name}",
                server=name,
                transport_role=fe,
                bindings=(Binding("0.0.0.0", 717),),
                auth_mechanism=_FRONTEND_AUTH,
                permission_groups=frozenset({G.EXCHANGE_SERVERS}),
                max_message_size=ByteSize.mb(36),
            ),
            ReceiveConnector(
                name=f"Client Frontend {name}",
                server=name,
                transport_role=fe,
                bindings=(Binding("0.0.0.0", 587),),
                auth_mechanism=frozenset(
                    {A.TLS, A.BASIC_AUTH, A.BASIC_AUTH_REQUIRE_TLS, A.INTEGRATED}
                ),
                permission_groups=frozenset({G.EXCHANGE_USERS}),
                max_message_size=ByteSize.mb(35),
            ),
        )
    hub = TransportRole.HUB_TRANSPORT
    return (
        ReceiveConnector(
            name=f"Default {name}",
            server=name,
            transport_role=hub,
            bindings=(Binding("0.0.0.0", 2525),),
            auth_mechanism=frozenset({A.TLS, A.BASIC_AUTH, A.EXCHANGE_SERVER, A.INTEGRATED}),
            permission_groups=frozenset(
                {G.EXCHANGE_LEGACY_SERVERS, G.EXCHANGE_SERVERS, G.EXCHANGE_USERS}
            ),
            max_message_size=ByteSize.mb(35),
        ),
        ReceiveConnector(
            name=f"Client Proxy {name}",
            server=name,
            transport_role=hub,
            bindings=(Binding("0.0.0.0", 465),),
            auth_mechanism=_FRONTEND_AUTH,
            permission_groups=frozenset({G.EXCHANGE_SERVERS, G.EXCHANGE_USERS}),
            max_message_size=ByteSize.mb(35),
        ),
    )
