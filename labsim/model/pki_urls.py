"""Where a lab's certification authorities publish their CRLs.

Every CA of a lab has a CRL distribution point ``http://crl.<org domain>/<CA name>.crl`` (the
public CA: ``http://crl.labpublicca.test/...``). The lab DNS zone points every such host at the
lab's CRL web server on :data:`CRL_ADDRESS`, port 80 (plus the lab's port offset, like every
other lab port).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labsim.model.lab import LabDefinition

CRL_ADDRESS = "127.0.80.1"
CRL_PORT = 80
PUBLIC_CRL_HOST = "crl.labpublicca.test"


def crl_host(domain: str) -> str:
    """The CRL web host of an organization whose default domain is ``domain``."""
    return f"crl.{domain.lower()}"


def crl_url(host: str, ca_name: str) -> str:
    """The distribution point URL of a CA: ``http://<host>/<CA name without spaces>.crl``."""
    return f"http://{host}/{ca_name.replace(' ', '')}.crl"


def crl_hosts(definition: LabDefinition) -> list[str]:
    """Every CRL host a lab definition needs in DNS (one per organization, plus the public CA)."""
    return [PUBLIC_CRL_HOST] + [
        crl_host(org_def.organization.default_domain) for org_def in definition.organizations
    ]
