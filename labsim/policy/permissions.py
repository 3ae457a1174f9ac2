"""Receive connector permission groups → the permissions a session holds (docs/exchange-reference.md
§3.5).

Rules kept here:

* a session holds only the rights the connector grants the group its identity belongs to;
  in particular a Partner (domain-secured) session gets exactly the ``Partners`` group's rights
  and no anonymous rights in addition (decision D11);
* permissions print in Exchange's protocol-log order, which is the bit order of Exchange's
  ``Permission`` flags enum (``SMTPSubmit`` first, header rights last).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from enum import Enum

from labsim.model.connectors import ReceiveConnector
from labsim.model.enums import Permission, PermissionGroup

P = Permission


class SessionIdentity(Enum):
    """Who the remote end of a receive session is, as far as permissions go."""

    ANONYMOUS = "Anonymous"
    """No authentication (NT AUTHORITY\\ANONYMOUS LOGON)."""
    PARTNER = "Partner"
    """A domain-secured sender (MS Exchange\\Partner Servers), set by the §5.3 check."""
    EXCHANGE_SERVER = "ExchangeServer"
    """Another Exchange server of the organization (ExchangeServer authentication)."""
    EXCHANGE_USERS = "ExchangeUsers"
    """An authenticated mailbox user (NT AUTHORITY\\Authenticated Users)."""


GROUP_PERMISSIONS: dict[PermissionGroup, frozenset[Permission]] = {
    PermissionGroup.ANONYMOUS_USERS: frozenset(
        {
            P.ACCEPT_ROUTING_HEADERS,
            P.SMTP_ACCEPT_ANY_SENDER,
            P.SMTP_ACCEPT_AUTHORITATIVE_DOMAIN_SENDER,
            P.SMTP_SUBMIT,
        }
    ),
    PermissionGroup.EXCHANGE_USERS: frozenset(
        {
            P.ACCEPT_ROUTING_HEADERS,
            P.BYPASS_ANTI_SPAM,
            P.SMTP_ACCEPT_ANY_RECIPIENT,
            P.SMTP_SUBMIT,
        }
    ),
    # All header rights plus every SMTP right (the internal X-verb rights are not modelled).
    PermissionGroup.EXCHANGE_SERVERS: frozenset(Permission),
    PermissionGroup.EXCHANGE_LEGACY_SERVERS: frozenset(
        {
            P.ACCEPT_ROUTING_HEADERS,
            P.BYPASS_ANTI_SPAM,
            P.BYPASS_MESSAGE_SIZE_LIMIT,
            P.SMTP_ACCEPT_ANY_RECIPIENT,
            P.SMTP_ACCEPT_ANY_SENDER,
            P.SMTP_ACCEPT_AUTHENTICATION_FLAG,
            P.SMTP_ACCEPT_AUTHORITATIVE_DOMAIN_SENDER,
            P.SMTP_ACCEPT_EXCH50,
            P.SMTP_SUBMIT,
        }
    ),
    PermissionGroup.PARTNERS: frozenset({P.ACCEPT_ROUTING_HEADERS, P.SMTP_SUBMIT}),
    PermissionGroup.NONE: frozenset(),
    PermissionGroup.CUSTOM: frozenset(),
}
"""Rights each permission group grants (docs/exchange-reference.md §3.5)."""

# Which groups a session identity is a member of. An Exchange server's computer account is also
# an authenticated user, so it collects the ExchangeUsers rights too when the connector grants
# them (Windows group membership, not a union across identities); Partner is deliberately alone.
IDENTITY_GROUPS: dict[SessionIdentity, tuple[PermissionGroup, ...]] = {
    SessionIdentity.ANONYMOUS: (PermissionGroup.ANONYMOUS_USERS,),
    SessionIdentity.PARTNER: (PermissionGroup.PARTNERS,),
    SessionIdentity.EXCHANGE_SERVER: (
        PermissionGroup.EXCHANGE_SERVERS,
        PermissionGroup.EXCHANGE_USERS,
    ),
    SessionIdentity.EXCHANGE_USERS: (PermissionGroup.EXCHANGE_USERS,),
}
"""Permission groups whose rights a session identity receives."""

PERMISSION_ORDER: tuple[Permission, ...] = (
    P.SMTP_SUBMIT,
    P.SMTP_ACCEPT_ANY_RECIPIENT,
    P.SMTP_ACCEPT_AUTHENTICATION_FLAG,
    P.SMTP_ACCEPT_ANY_SENDER,
    P.SMTP_ACCEPT_AUTHORITATIVE_DOMAIN_SENDER,
    P.BYPASS_ANTI_SPAM,
    P.BYPASS_MESSAGE_SIZE_LIMIT,
    P.SMTP_ACCEPT_EXCH50,
    P.ACCEPT_ROUTING_HEADERS,
    P.ACCEPT_FOREST_HEADERS,
    P.ACCEPT_ORG_HEADERS,
)
"""Protocol-log order: the bit order of Exchange's ``Permission`` flags."""


def permissions_for(
    connector: ReceiveConnector, identity: SessionIdentity
) -> frozenset[Permission]:
    """The permissions ``identity`` holds on ``connector``.

    Only groups present in the connector's ``PermissionGroups`` count: a Partner on a connector
    without the ``Partners`` group gets nothing, not the anonymous rights (decision D11).
    """
    return _granted(frozenset(connector.permission_groups), identity)


# Memoized on the connector's permission groups (a frozenset, which keeps its hash) and the
# identity: every session asks, at connect, MAIL, RCPT and DATA, the same few questions.
@functools.lru_cache(maxsize=1024)
def _granted(
    groups: frozenset[PermissionGroup], identity: SessionIdentity
) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for group in IDENTITY_GROUPS[identity]:
        if group in groups:
            granted |= GROUP_PERMISSIONS[group]
    return frozenset(granted)


def format_permissions(permissions: Iterable[Permission]) -> str:
    """The ``Set Session Permissions`` data text, e.g. ``SMTPSubmit SMTPAcceptAnySender
    SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders``; "" when there are none."""
    return _formatted(frozenset(permissions))


@functools.lru_cache(maxsize=1024)
def _formatted(held: frozenset[Permission]) -> str:
    return " ".join(p.value for p in PERMISSION_ORDER if p in held)
