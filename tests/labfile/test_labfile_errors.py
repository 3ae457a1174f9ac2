"""Every kind of lab-file error is one ConfigError naming the file, the key path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from labsim.errors import ConfigError
from labsim.labfile import load_lab_file

BASE = """
[[organizations]]
name = "Adatum"
domains = ["adatum.com"]
mailboxes = ["april"]

[[organizations.servers]]
name = "ADATUM-CAS1"
role = "ClientAccess"
fqdn = "mail.adatum.com"
address = "127.0.10.1"

[[organizations.servers.certificates]]
common_name = "mail.adatum.com"
issuer = "own"

[[organizations.servers]]
name = "ADATUM-MBX1"
role = "Mailbox"
fqdn = "adatum-mbx1.adatum.com"
address = "127.0.10.2"

[[organizations]]
name = "Fabrikam"
domains = ["fabrikam.com"]

[[organizations.servers]]
name = "FAB-CAS1"
role = "ClientAccess"
fqdn = "mail.fabrikam.com"
address = "127.0.30.1"

[[organizations.servers]]
name = "FAB-MBX1"
role = "Mailbox"
fqdn = "fab-mbx1.fabrikam.com"
address = "127.0.30.2"
"""

ADATUM = "organizations[0] (Adatum)"
CAS = f"{ADATUM}.servers[0] (ADATUM-CAS1)"
CERT = f"{CAS}.certificates[0] (mail.adatum.com)"
FABRIKAM = "organizations[1] (Fabrikam)"
FAB_CAS = f"{FABRIKAM}.servers[0] (FAB-CAS1)"
FAB_MBX = f"{FABRIKAM}.servers[1] (FAB-MBX1)"


def edit(old: str, new: str, count: int = 1) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, count)


def fab_cas(old: str, new: str) -> str:
    """Change a line of FAB-CAS1 (the part of the file after its name)."""
    head, tail = BASE.split('name = "FAB-CAS1"', 1)
    assert old in tail, old
    return head + 'name = "FAB-CAS1"' + tail.replace(old, new, 1)


CERT_LINE = 'issuer = "own"'

OUTSIDE = """
[[outside_organizations]]
name = "Contoso"
domains = ["contoso.org"]
address = "127.0.40.1"
port = 2525
"""
CONTOSO = "outside_organizations[0] (Contoso)"


def outside(old: str, new: str) -> str:
    """BASE with an outside organization, one of whose lines is changed."""
    assert old in OUTSIDE, old
    return BASE + OUTSIDE.replace(old, new, 1)


CASES: list[tuple[str, str, str]] = [
    # (id, file text, message after "<path>: ")
    (
        "unknown-key",
        fab_cas('address = "127.0.30.1"', 'adress = "127.0.30.1"'),
        f"{FAB_CAS}: unknown key 'adress'; did you mean 'address'?",
    ),
    (
        "unknown-top-key",
        "organisations = []\n" + BASE,
        ": unknown key 'organisations'; did you mean 'organizations'?",
    ),
    (
        "unknown-certificate-key",
        edit(CERT_LINE, 'issuer = "own"\ncommonname = "x"'),
        f"{CERT}: unknown key 'commonname'; did you mean 'common_name'?",
    ),
    (
        "wrong-type",
        fab_cas('address = "127.0.30.1"', "address = 127"),
        f"{FAB_CAS}: key 'address' must be a string, not an integer; e.g. address = \"127.0.10.1\"",
    ),
    (
        "wrong-type-int",
        edit(CERT_LINE, 'issuer = "own"\nvalid_days = "730"'),
        f"{CERT}: key 'valid_days' must be an integer, not a string; e.g. valid_days = 730",
    ),
    (
        "missing-key",
        fab_cas('fqdn = "mail.fabrikam.com"\n', ""),
        f"{FAB_CAS}: missing key 'fqdn'; add fqdn = \"mail.adatum.com\"",
    ),
    (
        "servers-not-tables",
        BASE.split('[[organizations]]\nname = "Fabrikam"')[0]
        + '[[organizations]]\nname = "Fabrikam"\ndomains = ["fabrikam.com"]\nservers = 3\n',
        f"{FABRIKAM}: key 'servers' must be an array of tables, not an integer; "
        "write [[organizations.servers]] above each entry",
    ),
    (
        "duplicate-address",
        fab_cas('address = "127.0.30.1"', 'address = "127.0.10.1"'),
        f"{FAB_CAS}: key 'address': address '127.0.10.1' is already used by {CAS}; give another",
    ),
    (
        "duplicate-server-name",
        BASE.replace('name = "FAB-CAS1"', 'name = "adatum-cas1"'),
        f"{FABRIKAM}.servers[0] (adatum-cas1): key 'name': server name 'adatum-cas1' is already "
        f"used by {CAS}; give another",
    ),
    (
        "duplicate-fqdn",
        fab_cas('fqdn = "mail.fabrikam.com"', 'fqdn = "MAIL.adatum.com"'),
        f"{FAB_CAS}: key 'fqdn': host name 'mail.adatum.com' is already used by {CAS}; "
        "give another",
    ),
    (
        "duplicate-organization",
        BASE.replace('name = "Fabrikam"', 'name = "ADATUM"'),
        "organizations[1] (ADATUM): key 'name': organization name 'ADATUM' is already used by "
        f"{ADATUM}; give another",
    ),
    (
        "duplicate-domain",
        BASE.replace('domains = ["fabrikam.com"]', 'domains = ["fabrikam.com", "adatum.com"]'),
        f"{FABRIKAM}: key 'domains': accepted domain 'adatum.com' is already used by {ADATUM}; "
        "give another",
    ),
    (
        "address-outside-loopback",
        fab_cas('address = "127.0.30.1"', 'address = "10.0.30.1"'),
        f"{FAB_CAS}: key 'address': address '10.0.30.1' is outside 127.0.0.0/8; every lab host "
        "uses a loopback address such as 127.0.10.1",
    ),
    (
        "address-not-ip",
        fab_cas('address = "127.0.30.1"', 'address = "localhost"'),
        f"{FAB_CAS}: key 'address': 'localhost' is not an IPv4 address; e.g. 127.0.10.1",
    ),
    (
        "address-of-dns-server",
        fab_cas('address = "127.0.30.1"', 'address = "127.0.53.53"'),
        f"{FAB_CAS}: key 'address': address '127.0.53.53' is taken by the lab's DNS server; "
        "use another one",
    ),
    (
        "address-of-crl-server",
        fab_cas('address = "127.0.30.1"', 'address = "127.0.80.1"'),
        f"{FAB_CAS}: key 'address': address '127.0.80.1' is taken by the lab's CRL web server; "
        "use another one",
    ),
    (
        "fqdn-is-crl-host",
        fab_cas('fqdn = "mail.fabrikam.com"', 'fqdn = "crl.fabrikam.com"'),
        f"{FAB_CAS}: key 'fqdn': 'crl.fabrikam.com' is a CRL host the lab defines itself (it "
        "serves the CRLs on 127.0.80.1); give the server another FQDN",
    ),
    (
        "bad-fqdn",
        fab_cas('fqdn = "mail.fabrikam.com"', 'fqdn = "mail fabrikam"'),
        f"{FAB_CAS}: key 'fqdn': 'mail fabrikam' is not a DNS name; write labels of letters, "
        "digits and '-' separated by dots, e.g. fqdn = \"mail.adatum.com\"",
    ),
    (
        "unknown-role",
        BASE.replace('role = "Mailbox"', 'role = "Mailbx"', 1),
        f"{ADATUM}.servers[1] (ADATUM-MBX1): key 'role': unknown role 'Mailbx'; "
        "did you mean 'Mailbox'?",
    ),
    (
        "no-mailbox-server",
        BASE.replace('role = "Mailbox"', 'role = "ClientAccess"'),
        f"{ADATUM}: no Mailbox server; every organization needs a Client Access and a Mailbox "
        'server: add [[organizations.servers]] with role = "Mailbox"',
    ),
    (
        "unknown-issuer",
        edit(CERT_LINE, 'issuer = "Fabrikm"'),
        f"{CERT}: key 'issuer': 'Fabrikm' is neither own, intermediate, public, self nor an "
        "organization of this lab; did you mean 'Fabrikam'?",
    ),
    (
        "unknown-trusted-root",
        fab_cas(
            'address = "127.0.30.1"', 'address = "127.0.30.1"\ntrusted_roots = ["own", "Adatun"]'
        ),
        f"{FAB_CAS}: key 'trusted_roots': 'Adatun' is neither own, public nor an organization "
        "of this lab; did you mean 'Adatum'?",
    ),
    (
        "intermediate-is-no-trusted-root",
        BASE.replace(
            'domains = ["fabrikam.com"]',
            'domains = ["fabrikam.com"]\ntrusted_roots = ["intermediate"]',
        ),
        f"{FABRIKAM}: key 'trusted_roots': 'intermediate' is neither own, public nor an "
        "organization of this lab; expected one of 'own', 'public', 'Adatum', 'Fabrikam'",
    ),
    (
        "unknown-eku",
        edit(CERT_LINE, 'issuer = "own"\neku = ["serverauth", "clientAuthentication"]'),
        f"{CERT}: key 'eku': unknown extended key usage 'serverauth'; did you mean 'serverAuth'?",
    ),
    (
        "unknown-service",
        edit(CERT_LINE, 'issuer = "own"\nservices = ["SMTP", "POP3"]'),
        f"{CERT}: key 'services': unknown certificate service 'POP3'; use one or more of IMAP, "
        "POP, UM, IIS, SMTP, Federation, UMCallRouter or None",
    ),
    (
        "valid-days-zero",
        edit(CERT_LINE, 'issuer = "own"\nvalid_days = 0'),
        f"{CERT}: key 'valid_days': 0 is not a validity period; give 1 or more days (for an "
        "expired certificate move not_before_days into the past)",
    ),
    (
        "crl-on-self-signed",
        edit(CERT_LINE, 'issuer = "self"\ncrl = false'),
        f"{CERT}: key 'crl': a self-signed certificate has no CRL distribution point; remove 'crl'",
    ),
    (
        "mx-unknown-host",
        BASE + '[[mx_records]]\ndomain = "fabrikam.com"\nhost = "mail.fabrikam.co"\n',
        "mx_records[0]: key 'host': 'mail.fabrikam.co' is neither a server FQDN nor an "
        "[[a_records]] name; did you mean 'mail.fabrikam.com'? (to point at a host that does "
        "not answer, add it to [[a_records]] with an unused address)",
    ),
    (
        "mx-unknown-domain",
        BASE + '[[mx_records]]\ndomain = "fabrikam.net"\nhost = "mail.fabrikam.com"\n',
        "mx_records[0]: key 'domain': 'fabrikam.net' is not an accepted domain of any "
        "organization; did you mean 'fabrikam.com'?",
    ),
    (
        "a-record-duplicates-server",
        BASE + '[[a_records]]\nname = "mail.fabrikam.com"\naddress = "127.0.30.9"\n',
        "a_records[0]: key 'name': host name 'mail.fabrikam.com' is already used by "
        f"{FAB_CAS}; give another",
    ),
    (
        "mailbox-outside-accepted-domains",
        BASE.replace('mailboxes = ["april"]', 'mailboxes = ["april@adatum.net"]'),
        f"{ADATUM}.mailboxes[0]: 'april@adatum.net' is not in an accepted domain of this "
        "organization; use one of adatum.com",
    ),
    (
        "transport-unknown-key",
        fab_cas(
            'address = "127.0.30.1"',
            'address = "127.0.30.1"\ntransport = { message_expiry_timeout = "1d" }',
        ),
        f"{FAB_CAS}.transport: unknown key 'message_expiry_timeout'; "
        "did you mean 'message_expiration_timeout'?",
    ),
    (
        "transport-bad-span",
        fab_cas(
            'address = "127.0.30.1"',
            'address = "127.0.30.1"\ntransport = { message_retry_interval = "soon" }',
        ),
        f"{FAB_CAS}.transport: key 'message_retry_interval': 'soon' is not a time span; use "
        "d.hh:mm:ss (e.g. 2.00:00:00) or 90s, 15m, 4h, 2d",
    ),
    (
        "transport-retry-count",
        fab_cas(
            'address = "127.0.30.1"',
            'address = "127.0.30.1"\ntransport = { transient_failure_retry_count = 16 }',
        ),
        f"{FAB_CAS}.transport: key 'transient_failure_retry_count': 16 is out of range; "
        "give 0 to 15",
    ),
    (
        "organization-named-like-a-keyword",
        BASE.replace('name = "Fabrikam"', 'name = "Public"'),
        "organizations[1] (Public): key 'name': 'Public' cannot name an organization (it is "
        'an issuer keyword or not a folder name); choose another, e.g. "Fabrikam"',
    ),
    (
        "unknown-profile",
        'profile = "exchange2016"\n' + BASE,
        ": key 'profile': unknown profile 'exchange2016'; did you mean 'exchange2013'?",
    ),
    (
        "no-organizations",
        'name = "empty"\n',
        ": no organizations; add at least one [[organizations]] table",
    ),
    # Outside organizations (real mail software the lab does not simulate).
    (
        "outside-unknown-key",
        outside('address = "127.0.40.1"', 'adress = "127.0.40.1"'),
        f"{CONTOSO}: unknown key 'adress'; did you mean 'address'?",
    ),
    (
        "outside-address-off-loopback",
        outside('address = "127.0.40.1"', 'address = "192.0.2.25"'),
        f"{CONTOSO}: key 'address': address '192.0.2.25' is outside 127.0.0.0/8; labsim sends "
        "mail only on this machine: run the outside organization's SMTP server on a loopback "
        "address such as 127.0.40.1 and give that address",
    ),
    (
        "outside-address-of-a-server",
        outside('address = "127.0.40.1"', 'address = "127.0.30.1"'),
        f"{CONTOSO}: key 'address': address '127.0.30.1' is already used by {FAB_CAS}; "
        "give another",
    ),
    (
        "outside-address-of-dns-server",
        outside('address = "127.0.40.1"', 'address = "127.0.53.53"'),
        f"{CONTOSO}: key 'address': address '127.0.53.53' is taken by the lab's DNS server; "
        "use another one",
    ),
    (
        "outside-domain-of-a-simulated-org",
        outside('domains = ["contoso.org"]', 'domains = ["contoso.org", "Fabrikam.com"]'),
        f"{CONTOSO}: key 'domains': 'fabrikam.com' is already a domain of {FABRIKAM}; a domain "
        "belongs to one organization: remove it from one of them",
    ),
    (
        "outside-missing-domains",
        outside('domains = ["contoso.org"]\n', ""),
        f"{CONTOSO}: missing key 'domains'; add domains = [\"adatum.com\"]",
    ),
    (
        "outside-missing-port",
        outside("port = 2525\n", ""),
        f"{CONTOSO}: missing key 'port'; add port = 2525",
    ),
    (
        "outside-port-not-an-integer",
        outside("port = 2525", 'port = "2525"'),
        f"{CONTOSO}: key 'port' must be an integer, not a string; e.g. port = 2525",
    ),
    (
        "outside-port-out-of-range",
        outside("port = 2525", "port = 70000"),
        f"{CONTOSO}: key 'port': 70000 is out of range; give the TCP port its SMTP server "
        "listens on, 1 to 65535 (used as is: the lab's port offset is not added)",
    ),
    (
        "outside-port-zero",
        outside("port = 2525", "port = 0"),
        f"{CONTOSO}: key 'port': 0 is out of range; give the TCP port its SMTP server "
        "listens on, 1 to 65535 (used as is: the lab's port offset is not added)",
    ),
    (
        "outside-name-of-a-simulated-org",
        outside('name = "Contoso"', 'name = "fabrikam"'),
        "outside_organizations[0] (fabrikam): key 'name': organization name 'fabrikam' is "
        f"already used by {FABRIKAM}; give another",
    ),
    (
        "outside-named-like-a-keyword",
        outside('name = "Contoso"', 'name = "self"'),
        "outside_organizations[0] (self): key 'name': 'self' cannot name an organization (it is "
        'an issuer keyword or not a folder name); choose another, e.g. "Fabrikam"',
    ),
    (
        "outside-mx-host-of-a-server",
        outside("port = 2525", 'port = 2525\nmx_host = "mail.fabrikam.com"'),
        f"{CONTOSO}: key 'mx_host': host name 'mail.fabrikam.com' is already used by "
        f"{FAB_CAS}; give another",
    ),
    (
        "outside-mx-host-is-a-crl-host",
        outside("port = 2525", 'port = 2525\nmx_host = "crl.adatum.com"'),
        f"{CONTOSO}: key 'mx_host': 'crl.adatum.com' is a CRL host the lab defines itself; "
        'give another, e.g. mx_host = "mail.fabrikam.org"',
    ),
    (
        "outside-roots-not-strings",
        outside("port = 2525", "port = 2525\nroots = [1]"),
        f"{CONTOSO}: key 'roots' must be an array of strings, not an array; "
        'e.g. roots = ["fabrikam-root.pem"]',
    ),
    (
        "outside-not-tables",
        BASE.replace("[[organizations]]", "outside_organizations = 3\n[[organizations]]", 1),
        ": key 'outside_organizations' must be an array of tables, not an integer; "
        "write [[outside_organizations]] above each entry",
    ),
    (
        "mx-record-for-an-outside-domain",
        BASE + OUTSIDE + '[[mx_records]]\ndomain = "contoso.org"\nhost = "mail.fabrikam.com"\n',
        "mx_records[0]: key 'domain': 'contoso.org' belongs to the outside organization "
        "Contoso, whose MX record the lab makes from its mx_host; remove this entry (set "
        "mx_host in its [[outside_organizations]] table instead)",
    ),
    (
        "issuer-is-an-outside-org",
        edit(CERT_LINE, 'issuer = "contoso"') + OUTSIDE,
        f"{CERT}: key 'issuer': 'contoso' is an outside organization; labsim has no CA of it "
        "to issue certificates; use own, intermediate, public, self or an organization the lab "
        "simulates",
    ),
    (
        "trusted-root-is-an-outside-org",
        fab_cas('address = "127.0.30.1"', 'address = "127.0.30.1"\ntrusted_roots = ["Contoso"]')
        + OUTSIDE,
        f"{FAB_CAS}: key 'trusted_roots': 'Contoso' is an outside organization; a server trusts "
        "its roots once an admin imports them: add Import-Certificate -FilePath "
        "Contoso\\root-ca.cer -CertStoreLocation Cert:\\LocalMachine\\Root to the "
        "organization's setup",
    ),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_error_is_one_message_naming_file_key_and_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_lab_file(path)
    expected = f"{path}: {message[2:]}" if message.startswith(": ") else f"{path}: {message}"
    assert str(caught.value) == expected


def test_the_base_file_of_these_tests_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(BASE, encoding="utf-8")
    assert len(load_lab_file(path).organizations) == 2


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(BASE + "oops = \n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_lab_file(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: invalid TOML: ")
    assert "(at line " in text and text.endswith("; fix the syntax there")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: no such lab file; check the path$"):
        load_lab_file(path)


def test_lab_named_default_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "default.toml"
    path.write_text(BASE, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key 'name': 'default' cannot name a lab"):
        load_lab_file(path)


def test_a_lab_file_nested_thousands_of_levels_deep(tmp_path: Path) -> None:
    # tomllib recursed once per level and ended in a RecursionError traceback.
    path = tmp_path / "deep.toml"
    path.write_text(BASE + "\n[[a_records]]\nname = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_lab_file(path)
    line = BASE.count("\n") + 3
    assert str(caught.value) == (
        f"{path}: line {line}: arrays and inline tables nest more than 32 levels deep, labsim's "
        "limit; flatten the value"
    )


def test_a_lab_file_that_is_a_device(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_lab_file("/dev/zero")
    assert str(caught.value) == (
        "/dev/zero: is a device, not a regular file; labsim reads only regular files: save the "
        "content to a file and give its path"
    )


def test_an_outside_root_that_is_not_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(outside("port = 2525", 'port = 2525\nroots = ["/dev/zero"]'))
    with pytest.raises(ConfigError) as caught:
        load_lab_file(path)
    assert str(caught.value) == (
        f"{path}: {CONTOSO}: key 'roots': '/dev/zero' is a device, not a regular file; labsim "
        "reads only regular files: save the content to a file and give its path"
    )


LONG_CN = "a" * 70 + ".com"
BOUND_CASES: list[tuple[str, str, str]] = [
    # Values that passed the checks and then crashed the lab's start (issue 10 item 9).
    (
        "valid-days-too-many",
        edit(CERT_LINE, 'issuer = "own"\nvalid_days = 100000000'),
        f"{CERT}: key 'valid_days': 100000000 is longer than labsim's limit of 36500 days "
        "(100 years); give fewer days",
    ),
    (
        "not-before-days-far-past",
        edit(CERT_LINE, 'issuer = "own"\nnot_before_days = -1000000'),
        f"{CERT}: key 'not_before_days': -1000000 is out of labsim's range; give -18250 to 36500 "
        "(50 years back, 100 years ahead)",
    ),
    (
        "not-before-days-far-future",
        edit(CERT_LINE, 'issuer = "own"\nnot_before_days = 1000000'),
        f"{CERT}: key 'not_before_days': 1000000 is out of labsim's range; give -18250 to 36500 "
        "(50 years back, 100 years ahead)",
    ),
    (
        "common-name-over-64",
        edit('common_name = "mail.adatum.com"', f'common_name = "{LONG_CN}"'),
        f"{CAS}.certificates[0] ({LONG_CN}): key 'common_name': the CN '{LONG_CN}' holds 74 "
        "characters; a certificate's CN holds at most 64 (X.520), so shorten it; put long names "
        "in dns_names",
    ),
    (
        "root-ca-over-64",
        edit('domains = ["adatum.com"]', f'domains = ["adatum.com"]\nroot_ca = "{LONG_CN}"'),
        f"{ADATUM}: key 'root_ca': the CN '{LONG_CN}' holds 74 characters; a certificate's CN "
        "holds at most 64 (X.520), so shorten it",
    ),
    (
        "default-root-ca-over-64",
        BASE.replace('name = "Fabrikam"', f'name = "{"F" * 60}"'),
        f"organizations[1] ({'F' * 60}): key 'root_ca' (default '{'F' * 60} Root CA'): the CN "
        f"'{'F' * 60} Root CA' holds 68 characters; a certificate's CN holds at most 64 (X.520), "
        f'so shorten it: give root_ca a shorter name, e.g. root_ca = "{"F" * 40} CA"',
    ),
    (
        "organization-name-over-64",
        BASE.replace('name = "Fabrikam"', f'name = "{"F" * 65}"\nroot_ca = "F Root"'),
        f"organizations[1] ({'F' * 65}): key 'name': the O '{'F' * 65}' holds 65 characters; a "
        "certificate's O holds at most 64 (X.520), so shorten it (the name is its CAs' O)",
    ),
    (
        "transport-timer-huge",
        fab_cas(
            'address = "127.0.30.1"',
            'address = "127.0.30.1"\ntransport = { message_expiration_timeout = "99999999999d" }',
        ),
        f"{FAB_CAS}.transport: key 'message_expiration_timeout': The TimeSpan could not be "
        "parsed because at least one of the numeric components is out of range or contains too "
        "many digits.",
    ),
    (
        "transport-timer-over-exchange-range",
        fab_cas(
            'address = "127.0.30.1"',
            'address = "127.0.30.1"\ntransport = { message_expiration_timeout = "1000000d" }',
        ),
        f"{FAB_CAS}.transport: key 'message_expiration_timeout': '1000000d' is out of range; "
        "give 00:00:05 to 90.00:00:00 (Set-TransportService's range)",
    ),
    (
        "transport-timer-zero",
        fab_cas(
            'address = "127.0.30.1"',
            'address = "127.0.30.1"\ntransport = { message_retry_interval = "0s" }',
        ),
        f"{FAB_CAS}.transport: key 'message_retry_interval': '0s' is out of range; give "
        "00:00:01 to 1.00:00:00 (Set-TransportService's range)",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in BOUND_CASES], ids=[c[0] for c in BOUND_CASES]
)
def test_values_beyond_the_bounds(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_lab_file(path)
    assert str(caught.value) == f"{path}: {message}"


def test_the_bounds_themselves_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(
        edit(CERT_LINE, 'issuer = "own"\nvalid_days = 36500\nnot_before_days = -18250').replace(
            'common_name = "mail.adatum.com"', f'common_name = "{"a" * 60}.com"'
        ),
        encoding="utf-8",
    )
    spec = load_lab_file(path).organizations[0].certificates[0]
    assert (spec.valid_days, spec.not_before_days) == (36500, -18250)
