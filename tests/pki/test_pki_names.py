"""Exchange 2013 certificate name rules (docs/exchange-reference.md §4.3, decision D4) and FQDN matching."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.errors import PkiError
from labsim.pki import certificate_names, create_root_ca, matches_domain, matches_host

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("names", "domain", "expected"),
    [
        (["contoso.com"], "contoso.com", True),  # exactly the domain
        (["CONTOSO.COM"], "contoso.com", True),  # case-insensitive
        (["contoso.com"], "Contoso.Com", True),
        (["*.contoso.com"], "contoso.com", True),  # wildcard covers the bare domain
        (["*.contoso.com"], "sub.contoso.com", True),
        (["mx.contoso.com"], "contoso.com", True),  # one label below
        (["MX.Contoso.com"], "contoso.com", True),
        (["a.b.contoso.com"], "contoso.com", False),  # two labels below
        (["*.com"], "contoso.com", True),  # multi-level wildcard (§4.3 d)
        (["*.net"], "contoso.com", False),
        (["contoso.com.evil.net"], "contoso.com", False),
        (["notcontoso.com"], "contoso.com", False),
        (["mail.fabrikam.com"], "contoso.com", False),
        (["contoso.com."], "contoso.com", True),  # absolute name
        (["ADATUM-CAS1", "mail.adatum.com"], "adatum.com", True),
        ([], "contoso.com", False),
    ],
)
def test_matches_domain(names: list[str], domain: str, expected: bool) -> None:
    assert matches_domain(names, domain) is expected


@pytest.mark.parametrize(
    ("names", "fqdn", "allow_wildcard", "expected"),
    [
        (["mail.adatum.com"], "mail.adatum.com", False, True),
        (["MAIL.adatum.com"], "mail.ADATUM.com", False, True),
        (["*.adatum.com"], "mail.adatum.com", False, False),
        (["*.adatum.com"], "mail.adatum.com", True, True),
        (["*.adatum.com"], "adatum.com", True, False),  # RFC 6125: not the bare domain
        (["*.adatum.com"], "a.mail.adatum.com", True, False),
        (["*.com"], "adatum.com", True, False),  # refused by service_identity
        (["Adatum Root CA"], "mail.adatum.com", True, False),
        (["ADATUM-CAS1"], "adatum-cas1", False, True),
    ],
)
def test_matches_host(names: list[str], fqdn: str, allow_wildcard: bool, expected: bool) -> None:
    assert matches_host(names, fqdn, allow_wildcard=allow_wildcard) is expected


def test_matches_host_rejects_bad_fqdn() -> None:
    with pytest.raises(PkiError, match="'mail adatum'"):
        matches_host(["x"], "mail adatum", allow_wildcard=True)


def test_subject_cn_counts_and_names_are_kept_as_written() -> None:
    ca = create_root_ca("Contoso Root CA", organization="Contoso", at=AT)
    cn_only = ca.issue("Contoso.com", at=AT)
    assert certificate_names(cn_only.certificate) == ("Contoso.com",)
    assert matches_domain(certificate_names(cn_only.certificate), "contoso.com")
    both = ca.issue("mail.contoso.com", dns_names=("MAIL.contoso.com", "*.com"), at=AT)
    assert certificate_names(both.certificate) == ("mail.contoso.com", "*.com")
    assert matches_domain(certificate_names(both.certificate), "fabrikam.com")  # via *.com
