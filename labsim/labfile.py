"""Lab files (TOML) → :class:`~labsim.model.lab.LabDefinition`.

The format is documented in ``docs/lab-files.md``. Rules kept here:

* TOML is read with the standard library's ``tomllib``; a syntax error is reported with the
  line and column tomllib gives.
* Every problem is one :class:`~labsim.errors.ConfigError` whose text names the file, the key
  path and the fix, e.g. ``labs/x.toml: organizations[1] (Fabrikam).servers[0] (FAB-CAS1):
  unknown key 'adress'; did you mean 'address'?``.
* Unknown keys are errors with a difflib suggestion; so are wrong types, duplicate names,
  FQDNs, addresses and domains, addresses outside 127.0.0.0/8 (or taken by the lab's own DNS
  and CRL servers), issuers and trusted roots naming an unknown organization, and MX records
  for an unknown domain or pointing at a host the lab does not know.
* An outside organization (``[[outside_organizations]]``: real mail software the lab does not
  simulate) shares the name, domain, host-name and address spaces of the simulated ones; its
  port is a real TCP port (1–65535), and each root file must exist (relative to the lab file)
  and hold at least one certificate. Its files are read here, so a lab that loads can start.
* Bounds (docs/limits.md): certificate validity and NotBefore within 100 years, CN and O (CA
  names, organization names) within X.520's 64 characters, ``transport`` timers within
  Set-TransportService's ranges; a value beyond them would crash the lab's start.
* What the file leaves out gets the default lab's defaults: Exchange's default receive
  connectors on every server, Exchange's self-signed certificate on every server (always), each
  server trusting its organization's root and the public CA, and an MX record (preference 10)
  to the organization's first Client Access server for each accepted domain that has none.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.x509.oid import NameOID

from labsim.ems.cmdlets.transport_service import RETRY_COUNT_RANGE, TIMER_RANGES
from labsim.errors import ConfigError, PkiError
from labsim.inputfiles import CERTIFICATE_FILE_LIMIT, InputFileError, read_input_file
from labsim.limits import (
    NOT_BEFORE_DAYS_RANGE,
    UB_ORGANIZATION_NAME,
    VALID_DAYS_RANGE,
    name_length_problem,
)
from labsim.model.defaults import default_receive_connectors
from labsim.model.enums import FidelityProfile, ServerRole
from labsim.model.lab import (
    ISSUER_KEYWORDS,
    ISSUER_OWN,
    ISSUER_PUBLIC,
    ISSUER_SELF,
    CertificateSpec,
    LabDefinition,
    MxRecord,
    OrganizationDefinition,
    OutsideOrganization,
    OutsideRoot,
    ServerTrust,
)
from labsim.model.organization import AcceptedDomain, Mailbox, Organization, Server
from labsim.model.pki_urls import CRL_ADDRESS, PUBLIC_CRL_HOST, crl_host
from labsim.model.transport import TransportService
from labsim.model.values import format_timespan, parse_timespan
from labsim.pki.bundles import parse_certificate_file
from labsim.pki.ca import EKU_OIDS
from labsim.pki.certificate import normalize_services, parse_windows_name, windows_name
from labsim.tomlfiles import TableReader, read_toml, type_name

__all__ = ["LAB_KEYS", "load_lab_file"]

DNS_ADDRESS = "127.0.53.53"
"""The lab DNS server's address (``labsim.net.dns.DNS_ADDRESS``; kept here to stay import-light)."""

RESERVED_ADDRESSES: dict[str, str] = {
    DNS_ADDRESS: "the lab's DNS server",
    CRL_ADDRESS: "the lab's CRL web server",
}
"""Loopback addresses a lab file may not give to a server or an A record."""

LAB_KEYS = ("name", "profile", "organizations", "outside_organizations", "mx_records", "a_records")
ORG_KEYS = (
    "name",
    "domains",
    "root_ca",
    "intermediate_ca",
    "root_ca_subject",
    "mailboxes",
    "trusted_roots",
    "setup",
    "servers",
)
SERVER_KEYS = ("name", "role", "fqdn", "address", "trusted_roots", "transport", "certificates")
CERTIFICATE_KEYS = (
    "common_name",
    "dns_names",
    "issuer",
    "services",
    "eku",
    "not_before_days",
    "valid_days",
    "crl",
    "friendly_name",
    "subject",
)
MAILBOX_KEYS = ("address", "display_name")
MX_KEYS = ("domain", "host", "preference")
A_KEYS = ("name", "address")
OUTSIDE_KEYS = ("name", "domains", "address", "port", "mx_host", "roots")
TRANSPORT_KEYS = tuple(f.name for f in fields(TransportService))
ROLES = tuple(r.value for r in ServerRole)
PROFILES = tuple(p.value for p in FidelityProfile)

_EXAMPLES: dict[str, str] = {
    "name": 'name = "Adatum"',
    "profile": 'profile = "exchange2013"',
    "domains": 'domains = ["adatum.com"]',
    "root_ca": 'root_ca = "Adatum Root CA"',
    "intermediate_ca": 'intermediate_ca = "Adatum Issuing CA"',
    "mailboxes": 'mailboxes = ["april", "ed@adatum.com"]',
    "trusted_roots": 'trusted_roots = ["own", "public", "TreyResearch"]',
    "setup": "setup = ['''Get-TransportConfig''']",
    "role": 'role = "ClientAccess"',
    "fqdn": 'fqdn = "mail.adatum.com"',
    "address": 'address = "127.0.10.1"',
    "transport": 'transport = { message_expiration_timeout = "2d" }',
    "common_name": 'common_name = "mail.adatum.com"',
    "dns_names": 'dns_names = ["mail.adatum.com", "adatum.com"]',
    "issuer": 'issuer = "own"',
    "services": 'services = ["SMTP"]',
    "eku": 'eku = ["serverAuth", "clientAuth"]',
    "not_before_days": "not_before_days = -1",
    "valid_days": "valid_days = 730",
    "crl": "crl = false",
    "friendly_name": 'friendly_name = "Adatum SMTP"',
    "root_ca_subject": 'root_ca_subject = "CN=Adatum Issuing CA 01, DC=corp, DC=adatum, DC=com"',
    "subject": 'subject = "CN=mail.adatum.com, OU=IT, O=Adatum"',
    "display_name": 'display_name = "April Reagan"',
    "domain": 'domain = "adatum.com"',
    "host": 'host = "mail.adatum.com"',
    "preference": "preference = 10",
    "port": "port = 2525",
    "mx_host": 'mx_host = "mail.fabrikam.org"',
    "roots": 'roots = ["fabrikam-root.pem"]',
}

# transport table key → Exchange's (minimum, maximum) for it.
_TIMER_RANGES: dict[str, tuple[timedelta, timedelta]] = {
    field: (low, high) for field, low, high in TIMER_RANGES.values()
}

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)
_LAB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def load_lab_file(path: Path | str) -> LabDefinition:
    """Read and check one lab file; any problem raises one :class:`ConfigError`.

    Messages and ``LabDefinition.source`` show the path normalised (``scenarios/../labs/x.toml``
    is shown as ``labs/x.toml``).
    """
    path = Path(os.path.normpath(path))
    document = read_toml(path, ConfigError, "lab file")
    return _Reader(path).lab(document)


def _suggest(word: str, candidates: Sequence[str]) -> str:
    """``did you mean 'x'?`` when a candidate is close, else the list of candidates."""
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{by_lower[close[0]]}'?"
    return "expected one of " + ", ".join(f"'{c}'" for c in candidates)


def _crl_hosts(organizations: Sequence[OrganizationDefinition]) -> set[str]:
    """The CRL hosts the lab defines itself (names no lab-file host may take)."""
    return {PUBLIC_CRL_HOST} | {crl_host(o.organization.default_domain) for o in organizations}


def _is_dns_name(name: str, *, wildcard: bool = False) -> bool:
    labels = name.split(".")
    if wildcard and labels[0] == "*":
        labels = labels[1:]
    return len(labels) >= 2 and all(_DNS_LABEL.fullmatch(label) for label in labels)


class _Reader(TableReader):
    """Checks one parsed lab file; knows the file for messages."""

    error = ConfigError
    examples = _EXAMPLES

    def suggest(self, word: str, candidates: Sequence[str]) -> str:
        """Case-insensitive matching (names in lab files are case-insensitive)."""
        return _suggest(word, candidates)

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.org_names: list[str] = []
        self.outside_names: list[str] = []
        # Lab-wide uniqueness: lower-cased value → where it was first given.
        self.server_names: dict[str, str] = {}
        self.fqdns: dict[str, str] = {}
        self.addresses: dict[str, str] = {}
        self.domains: dict[str, str] = {}
        self.seen_orgs: dict[str, str] = {}

    # -- messages -------------------------------------------------------------------------

    def unique(self, seen: dict[str, str], where: str, key: str, value: str, what: str) -> None:
        """``value`` was not given before anywhere in the lab (case-insensitive)."""
        first = seen.get(value.lower())
        if first is not None:
            self.fail(
                where, f"key '{key}': {what} '{value}' is already used by {first}; give another"
            )
        seen[value.lower()] = where

    # -- typed getters ---------------------------------------------------------------------

    def opt_text(self, where: str, table: Mapping[str, Any], key: str) -> str | None:
        """An optional non-empty string, without surrounding white space."""
        value = super().opt_text(where, table, key)
        return None if value is None else value.strip()

    def opt_int(self, where: str, table: Mapping[str, Any], key: str) -> int | None:
        """An optional integer."""
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(where, key, "an integer", value)
        return value

    def strings(self, where: str, table: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
        """An optional array of non-empty strings (a single string counts as one item)."""
        if key not in table:
            return None
        value = table[key]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            self.wrong_type(where, key, "an array of strings", value)
        for item in items:
            if not item.strip():
                self.fail(where, f"key '{key}' holds an empty string; remove it or give a value")
        return tuple(item.strip() for item in items)

    def tables(
        self, where: str, table: Mapping[str, Any], key: str, header: str = ""
    ) -> list[dict[str, Any]]:
        """An optional array of tables (``[[header]]``, default ``[[key]]``); absent gives ``[]``."""
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(
                where,
                f"key '{key}' must be an array of tables, not {type_name(value)}; "
                f"write [[{header or key}]] above each entry",
            )
        return value

    def address(
        self,
        where: str,
        table: Mapping[str, Any],
        key: str = "address",
        *,
        fix: str = "every lab host uses a loopback address such as 127.0.10.1",
    ) -> str:
        """A required IPv4 address in 127.0.0.0/8 that the lab's own services do not use."""
        value = self.text(where, table, key)
        try:
            parsed = ipaddress.IPv4Address(value)
        except ValueError:
            self.fail(where, f"key '{key}': '{value}' is not an IPv4 address; e.g. 127.0.10.1")
        if parsed not in ipaddress.IPv4Network("127.0.0.0/8"):
            self.fail(where, f"key '{key}': address '{value}' is outside 127.0.0.0/8; {fix}")
        text = str(parsed)
        if text in RESERVED_ADDRESSES or text in ("127.0.0.0", "127.255.255.255"):
            used = RESERVED_ADDRESSES.get(text, "no host (network or broadcast address)")
            self.fail(where, f"key '{key}': address '{text}' is taken by {used}; use another one")
        return text

    def dns_name(
        self, where: str, table: Mapping[str, Any], key: str, *, wildcard: bool = False
    ) -> str:
        """A required DNS name with at least two labels (``*.`` first when ``wildcard``)."""
        value = self.text(where, table, key)
        if not _is_dns_name(value, wildcard=wildcard):
            self.fail(
                where,
                f"key '{key}': '{value}' is not a DNS name; write labels of letters, digits and "
                f"'-' separated by dots, e.g. {_EXAMPLES.get(key, 'mail.adatum.com')}",
            )
        return value.lower()

    # -- the document ----------------------------------------------------------------------

    def lab(self, document: Mapping[str, Any]) -> LabDefinition:
        """The whole file."""
        self.check_keys("", document, LAB_KEYS)
        name = self.opt_text("", document, "name") or self.path.stem
        if not _LAB_NAME.fullmatch(name) or name == "default":
            self.fail(
                "",
                f"key 'name': '{name}' cannot name a lab (it names the lab's certificate folder, "
                "and 'default' is the built-in lab); use letters, digits, '.', '_' and '-', "
                'e.g. name = "three-orgs"',
            )
        profile_text = self.opt_text("", document, "profile") or FidelityProfile.EXCHANGE2013.value
        if profile_text.lower() not in PROFILES:
            self.fail(
                "",
                f"key 'profile': unknown profile '{profile_text}'; "
                + _suggest(profile_text, PROFILES),
            )
        profile = FidelityProfile(profile_text.lower())
        raw_orgs = self.tables("", document, "organizations")
        if not raw_orgs:
            self.fail("", "no organizations; add at least one [[organizations]] table")
        self.org_names = [
            o["name"].strip()
            for o in raw_orgs
            if isinstance(o.get("name"), str) and o["name"].strip()
        ]
        raw_outside = self.tables("", document, "outside_organizations")
        self.outside_names = [
            o["name"].strip()
            for o in raw_outside
            if isinstance(o.get("name"), str) and o["name"].strip()
        ]
        organizations = tuple(self.organization(index, raw) for index, raw in enumerate(raw_orgs))
        self.check_crl_hosts(organizations)
        outside = tuple(
            self.outside_organization(index, raw, _crl_hosts(organizations))
            for index, raw in enumerate(raw_outside)
        )
        a_records = self.a_records(document, organizations)
        mx_records = self.mx_records(document, organizations, a_records, outside)
        return LabDefinition(
            name=name,
            organizations=organizations,
            mx_records=mx_records,
            profile=profile,
            extra_a_records=a_records,
            source=str(self.path),
            outside_organizations=outside,
        )

    def org_reference(self, where: str, key: str, value: str, keywords: Sequence[str]) -> str:
        """A keyword or an organization name of this lab, in the lab's spelling."""
        for keyword in keywords:
            if value.lower() == keyword:
                return keyword
        for org in self.org_names:
            if value.lower() == org.lower():
                return org
        for org in self.outside_names:
            if value.lower() == org.lower():
                self.fail(
                    where,
                    f"key '{key}': '{value}' is an outside organization; "
                    + (
                        "labsim has no CA of it to issue certificates; use own, intermediate, "
                        "public, self or an organization the lab simulates"
                        if key == "issuer"
                        else "a server trusts its roots once an admin imports them: add "
                        f"Import-Certificate -FilePath {org}\\root-ca.cer -CertStoreLocation "
                        "Cert:\\LocalMachine\\Root to the organization's setup"
                    ),
                )
        choices = [*keywords, *self.org_names]
        self.fail(
            where,
            f"key '{key}': '{value}' is neither {', '.join(keywords)} nor an organization of this "
            f"lab; {_suggest(value, choices)}",
        )

    def organization(self, index: int, raw: Mapping[str, Any]) -> OrganizationDefinition:
        """One ``[[organizations]]`` table."""
        where = _named(f"organizations[{index}]", raw)
        self.check_keys(where, raw, ORG_KEYS)
        name = self.organization_name(where, raw)
        domains = self.strings(where, raw, "domains")
        if not domains:
            self.missing(where, "domains")
        accepted: list[AcceptedDomain] = []
        for number, domain in enumerate(domains):
            checked = self.dns_name(where, {"domains": domain}, "domains")
            self.unique(self.domains, where, "domains", checked, "accepted domain")
            accepted.append(AcceptedDomain(checked, default=number == 0))
        raw_servers = self.tables(where, raw, "servers", "organizations.servers")
        servers: list[Server] = []
        certificates: list[CertificateSpec] = []
        trust: list[ServerTrust] = []
        org_roots = self.trusted_roots(where, raw)
        for number, raw_server in enumerate(raw_servers):
            server, specs, roots = self.server(f"{where}.servers[{number}]", raw_server)
            servers.append(server)
            certificates.extend(specs)
            if roots is not None or org_roots is not None:
                chosen = roots if roots is not None else org_roots
                assert chosen is not None
                trust.append(ServerTrust(server.name, chosen))
        for role in ServerRole:
            if not any(s.role is role for s in servers):
                self.fail(
                    where,
                    f"no {role.value} server; every organization needs a Client Access and a "
                    f'Mailbox server: add [[organizations.servers]] with role = "{role.value}"',
                )
        mailboxes = self.mailboxes(where, raw, accepted)
        setup = self.strings(where, raw, "setup") or ()
        connectors = tuple(c for s in servers for c in default_receive_connectors(s))
        organization = Organization(
            name=name,
            accepted_domains=tuple(accepted),
            servers=tuple(servers),
            mailboxes=mailboxes,
            receive_connectors=connectors,
        )
        root_subject = self.windows_name(where, raw, "root_ca_subject")
        root_ca = self.opt_text(where, raw, "root_ca")
        if root_subject is not None:
            subject_cn = _common_name(root_subject)
            if root_ca is not None and root_ca != subject_cn:
                self.fail(
                    where,
                    f"key 'root_ca_subject': its CN ({subject_cn}) is not root_ca '{root_ca}'; "
                    "give the same name, or leave root_ca out (it defaults to the subject's CN)",
                )
            root_ca = subject_cn
        definition = OrganizationDefinition(
            organization=organization,
            root_ca_subject=root_subject,
            root_ca_name=root_ca or f"{name} Root CA",
            certificates=tuple(certificates),
            trusted_roots=tuple(trust),
            intermediate_ca_name=self.opt_text(where, raw, "intermediate_ca"),
            setup=setup,
        )
        self.check_ca_names(where, raw, definition)
        return definition

    def check_ca_names(
        self, where: str, raw: Mapping[str, Any], definition: OrganizationDefinition
    ) -> None:
        """The CAs' names fit in a certificate (X.520: CN and O at most 64 characters)."""
        name = definition.organization.name
        for key, value in (
            ("root_ca", definition.root_ca_name),
            ("intermediate_ca", definition.issuing_ca_name),
        ):
            problem = name_length_problem(value, name)
            if problem is None:
                continue
            if len(name) > UB_ORGANIZATION_NAME:
                self.fail(where, f"key 'name': {problem} (the name is its CAs' O)")
            if key in raw:
                self.fail(where, f"key '{key}': {problem}")
            self.fail(
                where,
                f"key '{key}' (default '{value}'): {problem}: give {key} a shorter name, "
                f'e.g. {key} = "{name[:40]} CA"',
            )

    def organization_name(self, where: str, raw: Mapping[str, Any]) -> str:
        """``name`` of a simulated or an outside organization: unique, and a folder name."""
        name = self.text(where, raw, "name")
        if name.lower() in ISSUER_KEYWORDS or any(c in name for c in "/\\") or name in (".", ".."):
            self.fail(
                where,
                f"key 'name': '{name}' cannot name an organization (it is an issuer keyword or "
                'not a folder name); choose another, e.g. "Fabrikam"',
            )
        self.unique(self.seen_orgs, where, "name", name, "organization name")
        return name

    def outside_organization(
        self, index: int, raw: Mapping[str, Any], crl_hosts: set[str]
    ) -> OutsideOrganization:
        """One ``[[outside_organizations]]`` table."""
        where = _named(f"outside_organizations[{index}]", raw)
        self.check_keys(where, raw, OUTSIDE_KEYS)
        name = self.organization_name(where, raw)
        given = self.strings(where, raw, "domains")
        if not given:
            self.missing(where, "domains")
        domains: list[str] = []
        for domain in given:
            checked = self.dns_name(where, {"domains": domain}, "domains")
            first = self.domains.get(checked)
            if first is not None:
                self.fail(
                    where,
                    f"key 'domains': '{checked}' is already a domain of {first}; a domain "
                    "belongs to one organization: remove it from one of them",
                )
            self.domains[checked] = where
            domains.append(checked)
        address = self.address(
            where,
            raw,
            fix="labsim sends mail only on this machine: run the outside organization's SMTP "
            "server on a loopback address such as 127.0.40.1 and give that address",
        )
        self.unique(self.addresses, where, "address", address, "address")
        port = self.opt_int(where, raw, "port")
        if port is None:
            self.missing(where, "port")
        if not 1 <= port <= 65535:
            self.fail(
                where,
                f"key 'port': {port} is out of range; give the TCP port its SMTP server listens "
                "on, 1 to 65535 (used as is: the lab's port offset is not added)",
            )
        default_mx = {"mx_host": f"mail.{domains[0]}"}
        mx_host = self.dns_name(where, raw if "mx_host" in raw else default_mx, "mx_host")
        if mx_host in crl_hosts:
            self.fail(
                where,
                f"key 'mx_host': '{mx_host}' is a CRL host the lab defines itself; give "
                'another, e.g. mx_host = "mail.fabrikam.org"',
            )
        self.unique(self.fqdns, where, "mx_host", mx_host, "host name")
        return OutsideOrganization(
            name=name,
            domains=tuple(domains),
            address=address,
            port=port,
            mx_host=mx_host,
            roots=self.root_files(where, raw),
        )

    def root_files(self, where: str, raw: Mapping[str, Any]) -> tuple[OutsideRoot, ...]:
        """``roots``: certificate files, relative to the lab file, each read and checked."""
        roots: list[OutsideRoot] = []
        for value in self.strings(where, raw, "roots") or ():
            path = Path(value)
            resolved = Path(
                os.path.normpath(path if path.is_absolute() else self.path.parent / path)
            )
            if any(root.source == str(resolved) for root in roots):
                self.fail(where, f"key 'roots': '{value}' is listed twice; list it once")
            try:
                data = read_input_file(resolved, CERTIFICATE_FILE_LIMIT)
            except InputFileError as err:
                self.fail(where, f"key 'roots': '{value}' {err}")
            except FileNotFoundError:
                self.fail(
                    where,
                    f"key 'roots': file '{value}' was not found (looked for {resolved}); give "
                    "the root CA certificate file its server's certificates chain to, as a "
                    "path relative to the lab file",
                )
            except OSError as err:
                self.fail(
                    where,
                    f"key 'roots': cannot read '{value}' ({err.strerror or err}); give a "
                    "readable certificate file",
                )
            try:
                parse_certificate_file(data, f"'{value}'")
            except PkiError as err:
                self.fail(where, f"key 'roots': {err}")
            roots.append(OutsideRoot(str(resolved), data))
        return tuple(roots)

    def trusted_roots(self, where: str, raw: Mapping[str, Any]) -> tuple[str, ...] | None:
        """``trusted_roots``: "own", "public" and organization names."""
        roots = self.strings(where, raw, "trusted_roots")
        if roots is None:
            return None
        checked: list[str] = []
        for root in roots:
            value = self.org_reference(where, "trusted_roots", root, (ISSUER_OWN, ISSUER_PUBLIC))
            if value in checked:
                self.fail(where, f"key 'trusted_roots': '{root}' is listed twice; list it once")
            checked.append(value)
        return tuple(checked)

    def mailboxes(
        self, where: str, raw: Mapping[str, Any], accepted: Sequence[AcceptedDomain]
    ) -> tuple[Mailbox, ...]:
        """``mailboxes``: aliases (default domain), addresses, or tables."""
        value = raw.get("mailboxes", [])
        if not isinstance(value, list):
            self.wrong_type(where, "mailboxes", "an array", value)
        found: list[Mailbox] = []
        seen: dict[str, str] = {}
        for number, item in enumerate(value):
            place = f"{where}.mailboxes[{number}]"
            display: str | None = None
            if isinstance(item, dict):
                self.check_keys(place, item, MAILBOX_KEYS)
                address = self.text(place, item, "address")
                display = self.opt_text(place, item, "display_name")
            elif isinstance(item, str) and item.strip():
                address = item.strip()
            else:
                self.fail(
                    place,
                    f"a mailbox is an alias, an address or a table, not {type_name(item)}; "
                    'e.g. "april", "april@adatum.com" or { address = "april@adatum.com", '
                    'display_name = "April Reagan" }',
                )
            if "@" not in address:
                address = f"{address}@{accepted[0].domain_name}"
            local, _, domain = address.partition("@")
            if not local or " " in address or "@" in domain:
                self.fail(place, f"'{address}' is not an email address; write it as user@domain")
            if domain.lower() not in (d.domain_name for d in accepted):
                self.fail(
                    place,
                    f"'{address}' is not in an accepted domain of this organization; use one of "
                    + ", ".join(d.domain_name for d in accepted),
                )
            self.unique(seen, place, "address", address, "mailbox")
            found.append(Mailbox(address, display or local.capitalize()))
        return tuple(found)

    def server(
        self, where: str, raw: Mapping[str, Any]
    ) -> tuple[Server, tuple[CertificateSpec, ...], tuple[str, ...] | None]:
        """One ``[[organizations.servers]]`` table: the server, its certificates, its roots."""
        where = _named(where, raw)
        self.check_keys(where, raw, SERVER_KEYS)
        name = self.text(where, raw, "name")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", name):
            self.fail(
                where,
                f"key 'name': '{name}' is not a server name; use letters, digits and '-', "
                'e.g. name = "ADATUM-CAS1"',
            )
        self.unique(self.server_names, where, "name", name, "server name")
        role_text = self.text(where, raw, "role")
        role = next((r for r in ServerRole if r.value.lower() == role_text.lower()), None)
        if role is None:
            self.fail(
                where, f"key 'role': unknown role '{role_text}'; {_suggest(role_text, ROLES)}"
            )
        fqdn = self.dns_name(where, raw, "fqdn")
        self.unique(self.fqdns, where, "fqdn", fqdn, "host name")
        address = self.address(where, raw)
        self.unique(self.addresses, where, "address", address, "address")
        server = Server(
            name=name,
            fqdn=fqdn,
            role=role,
            address=address,
            transport_service=self.transport(where, raw),
        )
        specs = tuple(
            self.certificate(f"{where}.certificates[{number}]", name, item)
            for number, item in enumerate(
                self.tables(where, raw, "certificates", "organizations.servers.certificates")
            )
        )
        return server, specs, self.trusted_roots(where, raw)

    def transport(self, where: str, raw: Mapping[str, Any]) -> TransportService:
        """``transport = { … }``: Set-TransportService timers of one server."""
        value = raw.get("transport", {})
        if not isinstance(value, dict):
            self.wrong_type(where, "transport", "a table", value)
        place = f"{where}.transport"
        self.check_keys(place, value, TRANSPORT_KEYS)
        changes: dict[str, Any] = {}
        for key, item in value.items():
            if key == "transient_failure_retry_count":
                count = self.opt_int(place, value, key)
                fewest, most = RETRY_COUNT_RANGE
                if count is None or not fewest <= count <= most:
                    self.fail(
                        place, f"key '{key}': {count} is out of range; give {fewest} to {most}"
                    )
                changes[key] = count
                continue
            if not isinstance(item, str):
                self.wrong_type(place, key, 'a time span such as "15m" or "2.00:00:00"', item)
            try:
                span = parse_timespan(item)
            except ValueError as err:
                self.fail(place, f"key '{key}': {err}")
            low, high = _TIMER_RANGES[key]
            if not low <= span <= high:
                # Exchange's range for the parameter of Set-TransportService, as the shell checks.
                self.fail(
                    place,
                    f"key '{key}': '{item}' is out of range; give {format_timespan(low)} to "
                    f"{format_timespan(high)} (Set-TransportService's range)",
                )
            changes[key] = span
        return replace(TransportService(), **changes)

    def certificate(self, where: str, server: str, raw: Mapping[str, Any]) -> CertificateSpec:
        """One ``[[organizations.servers.certificates]]`` table."""
        label = raw.get("common_name")
        if isinstance(label, str) and label.strip():
            where = f"{where} ({label.strip()})"
        self.check_keys(where, raw, CERTIFICATE_KEYS)
        common_name = self.text(where, raw, "common_name")
        dns_names = self.strings(where, raw, "dns_names") or ()
        for name in dns_names:
            if not _is_dns_name(name, wildcard=True):
                self.fail(
                    where,
                    f"key 'dns_names': '{name}' is not a DNS name; e.g. \"mail.adatum.com\" or "
                    '"*.adatum.com"',
                )
        issuer_text = self.opt_text(where, raw, "issuer") or ISSUER_OWN
        issuer = self.org_reference(where, "issuer", issuer_text, ISSUER_KEYWORDS)
        services_given = self.strings(where, raw, "services")
        try:
            services = (
                normalize_services(services_given)
                if services_given is not None
                else CertificateSpec.services
            )
        except PkiError as err:
            self.fail(where, f"key 'services': {err}")
        eku = self.strings(where, raw, "eku")
        for purpose in eku or ():
            if purpose not in EKU_OIDS:
                self.fail(
                    where,
                    f"key 'eku': unknown extended key usage '{purpose}'; "
                    + _suggest(purpose, list(EKU_OIDS)),
                )
        problem = name_length_problem(common_name)
        if problem is not None:
            self.fail(where, f"key 'common_name': {problem}; put long names in dns_names")
        valid_days = self.opt_int(where, raw, "valid_days")
        if valid_days is not None and valid_days < 1:
            self.fail(
                where,
                f"key 'valid_days': {valid_days} is not a validity period; give 1 or more days "
                "(for an expired certificate move not_before_days into the past)",
            )
        if valid_days is not None and valid_days > VALID_DAYS_RANGE[1]:
            self.fail(
                where,
                f"key 'valid_days': {valid_days} is longer than labsim's limit of "
                f"{VALID_DAYS_RANGE[1]} days (100 years); give fewer days",
            )
        crl = self.opt_bool(where, raw, "crl")
        if crl is not None and issuer == ISSUER_SELF:
            self.fail(
                where,
                "key 'crl': a self-signed certificate has no CRL distribution point; remove 'crl'",
            )
        subject = self.windows_name(where, raw, "subject")
        if subject is not None:
            if issuer == ISSUER_SELF:
                self.fail(
                    where,
                    "key 'subject': a self-signed certificate's subject is CN=<common_name>, as "
                    "New-ExchangeCertificate makes it; remove 'subject'",
                )
            if _common_name(subject) != common_name:
                self.fail(
                    where,
                    f"key 'subject': its CN ({_common_name(subject)}) is not common_name "
                    f"'{common_name}'; give the same name",
                )
        spec = CertificateSpec(
            server=server,
            subject=subject,
            common_name=common_name,
            dns_names=tuple(n.lower() for n in dns_names),
            issuer=issuer,
            services=services,
            friendly_name=self.opt_text(where, raw, "friendly_name"),
        )
        changes: dict[str, Any] = {}
        if eku is not None:
            changes["eku"] = eku
        if valid_days is not None:
            changes["valid_days"] = valid_days
        not_before_days = self.opt_int(where, raw, "not_before_days")
        if not_before_days is not None:
            low, high = NOT_BEFORE_DAYS_RANGE
            if not low <= not_before_days <= high:
                self.fail(
                    where,
                    f"key 'not_before_days': {not_before_days} is out of labsim's range; give "
                    f"{low} to {high} (50 years back, 100 years ahead)",
                )
            changes["not_before_days"] = not_before_days
        if crl is not None:
            changes["crl"] = crl
        return replace(spec, **changes)

    def windows_name(self, where: str, raw: Mapping[str, Any], key: str) -> str | None:
        """An optional name as Windows shows it (``CN=…, DC=…``), with a CN; normalized."""
        text = self.opt_text(where, raw, key)
        if text is None:
            return None
        try:
            name = parse_windows_name(text)
        except PkiError as err:
            self.fail(where, f"key '{key}': {err}")
        if not name.get_attributes_for_oid(NameOID.COMMON_NAME):
            self.fail(where, f"key '{key}': '{text}' has no CN; e.g. {_EXAMPLES[key]}")
        return windows_name(name)

    def check_crl_hosts(self, organizations: Sequence[OrganizationDefinition]) -> None:
        """No server is named like a CRL host (``crl.<default domain>``) the lab defines."""
        for host in _crl_hosts(organizations):
            where = self.fqdns.get(host)
            if where is not None:
                self.fail(
                    where,
                    f"key 'fqdn': '{host}' is a CRL host the lab defines itself (it serves the "
                    "CRLs on 127.0.80.1); give the server another FQDN",
                )

    def a_records(
        self, document: Mapping[str, Any], organizations: Sequence[OrganizationDefinition]
    ) -> tuple[tuple[str, str], ...]:
        """``[[a_records]]``: extra host names (aliases, hosts that answer nothing)."""
        crl_hosts = _crl_hosts(organizations)
        records: list[tuple[str, str]] = []
        for number, raw in enumerate(self.tables("", document, "a_records")):
            where = f"a_records[{number}]"
            self.check_keys(where, raw, A_KEYS)
            name = self.dns_name(where, raw, "name")
            if name in crl_hosts:
                self.fail(
                    where,
                    f"key 'name': '{name}' is a CRL host the lab defines itself; use another name",
                )
            self.unique(self.fqdns, where, "name", name, "host name")
            records.append((name, self.address(where, raw)))
        return tuple(records)

    def mx_records(
        self,
        document: Mapping[str, Any],
        organizations: Sequence[OrganizationDefinition],
        a_records: Sequence[tuple[str, str]],
        outside: Sequence[OutsideOrganization],
    ) -> tuple[MxRecord, ...]:
        """``[[mx_records]]`` plus a default MX for every accepted domain that has none.

        An outside organization's MX records come from its ``mx_host`` only; its host may be
        the MX of a simulated domain (a real filtering service in front of it).
        """
        hosts = [s.fqdn for o in organizations for s in o.organization.servers]
        hosts += [name for name, _ in a_records]
        hosts += [o.mx_host for o in outside]
        domains = [d.domain_name for o in organizations for d in o.organization.accepted_domains]
        records: list[MxRecord] = []
        for number, raw in enumerate(self.tables("", document, "mx_records")):
            where = f"mx_records[{number}]"
            self.check_keys(where, raw, MX_KEYS)
            domain = self.dns_name(where, raw, "domain")
            owner = next((o for o in outside if o.holds_domain(domain)), None)
            if owner is not None:
                self.fail(
                    where,
                    f"key 'domain': '{domain}' belongs to the outside organization {owner.name}, "
                    "whose MX record the lab makes from its mx_host; remove this entry (set "
                    "mx_host in its [[outside_organizations]] table instead)",
                )
            if domain not in domains:
                self.fail(
                    where,
                    f"key 'domain': '{domain}' is not an accepted domain of any organization; "
                    + _suggest(domain, domains),
                )
            host = self.dns_name(where, raw, "host")
            if host not in hosts:
                self.fail(
                    where,
                    f"key 'host': '{host}' is neither a server FQDN nor an [[a_records]] name; "
                    f"{_suggest(host, hosts)} (to point at a host that does not answer, add it "
                    "to [[a_records]] with an unused address)",
                )
            preference = self.opt_int(where, raw, "preference")
            if preference is not None and not 0 <= preference <= 65535:
                self.fail(where, f"key 'preference': {preference} is out of range; give 0 to 65535")
            record = MxRecord(domain, host, 10 if preference is None else preference)
            if any(r.domain == domain and r.exchange == host for r in records):
                self.fail(where, f"MX {domain} → {host} is given twice; remove one")
            records.append(record)
        for org_def in organizations:
            org = org_def.organization
            target = org.servers_with(ServerRole.CLIENT_ACCESS)[0]
            for accepted in org.accepted_domains:
                if not any(r.domain == accepted.domain_name for r in records):
                    records.append(MxRecord(accepted.domain_name, target.fqdn))
        return tuple(records)


def _common_name(windows: str) -> str:
    """The first CN of a name :meth:`_Reader.windows_name` accepted."""
    values = parse_windows_name(windows).get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[-1].value)


def _named(where: str, raw: Mapping[str, Any]) -> str:
    """A table's place in messages, with its ``name`` when it has one: ``servers[0] (CAS1)``."""
    label = raw.get("name")
    if isinstance(label, str) and label.strip():
        return f"{where} ({label.strip()})"
    return where
