"""A private, real Postfix instance that plays an outside mail organization in tests.

:class:`PrivatePostfix` builds a complete Postfix configuration in a folder of its own and runs
it with ``postfix -c DIR``: its own CA (:class:`LocalCA`) and certificate, its own queue, a log
file the test reads, local delivery into a Maildir, and routes to the lab (or any loopback SMTP
server) with a per-destination TLS policy. The system Postfix instance (``/etc/postfix``, the
system service) is never read, started or touched, and the instance only ever talks to
127.0.0.0/8 (addresses are checked; DNS is off; every other destination bounces at once).

Usage (the ``private_postfix`` fixture of ``tests/interop/conftest.py`` starts and always stops
it)::

    postfix = private_postfix(
        domains=("fabrikam.org",),
        certificate_names=("mail.fabrikam.org",),    # a WRONG name here tests the other side
        trusted_roots=[lab_certs / "Adatum" / "root-ca.cer"],
        routes={"adatum.com": Route("127.0.10.1", cas1_port,
                                    TlsPolicy("secure", match=("mail.adatum.com",)))},
    )
    postfix.send("kim@fabrikam.org", "april@adatum.com", "Hello")
    postfix.wait_for_log(r"Verified TLS connection established to 127\\.0\\.10\\.1")
    postfix.set_route("adatum.com", ...)          # rewrites the policy, then ``postfix reload``
    postfix.flush()                               # ``postqueue -f``: retry the deferred queue now
    postfix.wait_for_messages(1)                  # what arrived for fabrikam.org (Maildir)

Report: the Postfix parameters that mattered (Postfix 3.7.11, Debian 12 package)
==============================================================================================

Instance and privileges
    * ``postfix -c DIR start|stop|reload|check`` must run as root: master(8) starts as root,
      each daemon chdirs into ``queue_directory`` and loads its TLS keys as root, then drops to
      ``mail_owner = postfix``. As non-root the fixture skips. ``sendmail -C DIR`` and
      ``postqueue -c DIR`` run as root too (as non-root they would need DIR listed in the
      *default* main.cf's ``alternate_config_directories``, and there is no default main.cf).
    * ``postfix start`` runs ``post-install create-missing`` from ``meta_directory``
      (/etc/postfix/postfix-files, shipped by the package, read only): it creates the queue
      subdirectories with the right owners itself. We create only the top folders:
      ``queue_directory`` owned by root, mode 0755, not group/other writable (checked);
      ``data_directory`` owned by ``postfix``, 0700; the config folder and its files owned by
      root (``postfix check`` warns otherwise).
    * Every ancestor of the instance folder must be traversable by the ``postfix`` user:
      virtual(8) delivers with the mailbox owner's uid using absolute paths. pytest's
      ``tmp_path`` lives under /tmp/pytest-of-root (mode 0700), so the fixture uses a
      ``tempfile.mkdtemp`` folder directly under /tmp, chmod 0755 (checked in :meth:`start`).
    * ``chroot`` is ``n`` for every service in our master.cf (the Debian default master.cf
      chroots smtp/smtpd into /var/spool/postfix, which would not contain our files).
    * ``compatibility_level = 3.6`` silences the backwards-compatibility warnings.
    * Postfix commands print errors on stderr only when stderr is a terminal; otherwise they go
      to syslog (/dev/log, absent in a container) and e.g. ``postfix check`` just exits 1 with
      no output. :meth:`PrivatePostfix.postfix` and friends give them a pseudo-terminal as
      stderr, so a failure's exception carries Postfix's own message.
    * ``postfix start`` takes about 1.8 s here (its ``post-install create-missing`` shell loop
      over postfix-files), whatever the configuration.

Logging
    * ``maillog_file = DIR/maillog`` (Postfix >= 3.4) needs the ``postlog unix-dgram ...
      postlogd`` service in master.cf, or ``postfix start`` fails with "missing 'postlog'
      service in master.cf"; and ``maillog_file_prefixes = DIR``, or every command fails with
      "maillog_file value ... does not match any prefix in maillog_file_prefixes" (default
      ``/var, /dev/stdout``). ``maillog_file_permissions`` does not exist in 3.7 (postconf
      warns "unused parameter"); the file is root's, mode 0600, fine for tests run as root.
      Nothing goes to syslog.
    * master(8) does not log its own SIGTERM at the default log level; ``postfix-script``
      logs "starting/aborting the Postfix mail system" and master logs "daemon started --
      version 3.7.11, configuration DIR" and "reload -- version ...".
    * ``smtp_tls_loglevel = 1`` / ``smtpd_tls_loglevel = 1`` give the lines tests wait for:
      ``Verified TLS connection established to H[IP]:PORT`` (chain AND name matched, levels
      verify/secure), ``Trusted TLS connection established to ...`` (chain verified, name not
      checked: levels may/encrypt with a CAfile), ``Trusted TLS connection established from
      unknown[IP]`` (smtpd: the client certificate chains to ``smtpd_tls_CAfile``; smtpd never
      checks a client name), ``Anonymous TLS connection ...`` (no client certificate).
    * A certificate-name mismatch logs ``server certificate verification failed for
      H[IP]:PORT: num=62:hostname mismatch``, then ``Untrusted TLS connection established
      to ...`` and the recipient line ``dsn=4.7.5, status=deferred (Server certificate not
      verified)``; ``postqueue -j`` shows ``delay_reason: "Server certificate not verified"``.

Network: loopback only, no DNS
    * ``inet_interfaces = 127.0.40.1`` is refused: "fatal: parameter inet_interfaces: no local
      interface found for 127.0.40.1" (Postfix checks the value against the addresses
      configured on interfaces; ``lo`` has only 127.0.0.1/8, although Linux lets a socket bind
      any 127.x address). Adding the address to ``lo`` would change the machine, so:
      ``inet_interfaces = 127.0.0.1`` (still loopback only), ``inet_protocols = ipv4``, and the
      one smtpd service in master.cf bound explicitly as ``127.0.40.1:<port> inet ... smtpd``
      (master binds a host:port service without that check; ``ss`` shows only that socket).
    * ``smtp_bind_address = 127.0.40.1``: without it the client connects from 127.0.0.1
      (checked: Postfix takes the source from ``inet_interfaces`` only when that is a single
      non-loopback address), and the lab would see the wrong partner IP.
    * ``smtp_dns_support_level = disabled`` and ``smtpd_peername_lookup = no`` (the reverse
      lookup of each client would otherwise go to the system resolver, off loopback).
    * ``default_transport = error:...``: anything not in ``transport_maps`` bounces at once
      instead of being looked up (native lookups also reach the system resolver).
    * ``transport_maps`` entries are ``smtp:[IP]:PORT`` (brackets: no MX/A lookup); the
      ``smtp_tls_policy_maps`` key is that verbatim next hop, ``[IP]:PORT``. With a bracketed
      IP there is no host name to match, so ``verify``/``secure`` need ``match=NAME`` (the
      default ``secure`` match, ``nexthop:dot-nexthop``, would compare the name with the IP).
    * Both tables are ``texthash:`` (read at process start, no ``postmap``); a change needs
      ``postfix reload`` (done by :meth:`set_route`, which then waits for master's "reload"
      log line before returning, so a following :meth:`flush` uses the new policy).

TLS
    * Server: ``smtpd_tls_security_level = may`` (or ``encrypt`` +
      ``smtpd_tls_req_ccert = yes`` to require a trusted client certificate),
      ``smtpd_tls_cert_file``/``key_file`` (leaf then CA: the chain file),
      ``smtpd_tls_ask_ccert = yes``, ``smtpd_tls_CAfile`` = the roots the test passes (their
      names are also sent as the acceptable CAs in the CertificateRequest),
      ``smtpd_tls_received_header = yes`` (the Received header shows the client certificate).
    * Client: ``smtp_tls_security_level = may`` globally, the per-next-hop policy in
      ``smtp_tls_policy_maps``, ``smtp_tls_CAfile`` = the same roots,
      ``smtp_tls_cert_file``/``key_file`` = the same certificate (EKU serverAuth + clientAuth),
      presented when the server asks for one. No ``smtp_tls_session_cache_database``, so a
      fixed certificate is never hidden by a resumed session.
    * A CAfile with no certificate in it disables TLS altogether ("cannot load Certification
      Authority data ... disabling TLS support": smtpd answers STARTTLS with "454 4.7.0 TLS not
      available due to local problem"), so the CAfile parameters are set only when roots are
      given.

Delivery
    * ``virtual_mailbox_domains`` (``mydestination`` empty), ``virtual_mailbox_maps`` with the
      catch-all key ``@domain`` -> ``domain/`` (trailing slash = Maildir), ``virtual_uid_maps``
      / ``virtual_gid_maps`` = ``static:`` the postfix uid/gid (virtual(8) refuses uids below
      ``virtual_minimum_uid``, so not root). ``alias_maps`` empty (no /etc/aliases needed).
      virtual(8) adds ``Delivered-To`` and ``Return-Path``.
    * ``notify_classes =`` (empty): otherwise a TLS or software problem also mails a notice to
      postmaster@ the first domain, which lands in the same Maildir and skews message counts.
    * ``postqueue -c DIR -f`` retries the deferred queue at once; ``postqueue -j`` lists it.
    * ``postfix stop`` sends master(8) SIGTERM and then polls with ``sleep 1``;
      :meth:`PrivatePostfix.stop` uses ``postfix abort`` (the same SIGTERM, no wait) and waits
      itself with 50 ms polls until master is gone, no process is left in the queue directory
      (every daemon's working directory) and nothing listens on the port any more.
"""

from __future__ import annotations

import grp
import ipaddress
import json
import os
import pwd
import re
import select
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from local_ca import IssuedCertificate, LocalCA, free_port  # noqa: F401 - re-exported

T = TypeVar("T")

MAIL_OWNER = "postfix"
SETGID_GROUP = "postdrop"
TLS_LEVELS = ("none", "may", "encrypt", "verify", "secure")
_SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class PostfixError(RuntimeError):
    """A Postfix command failed, or a condition was not met in time."""


def postfix_command(name: str = "postfix") -> str | None:
    """The path of a Postfix program (``postfix``, ``postqueue``, ``sendmail``), or None."""
    return shutil.which(name) or shutil.which(name, path=_SBIN_PATH)


def postfix_missing() -> str | None:
    """Why a private Postfix cannot run here, or None when it can."""
    for program in ("postfix", "postqueue", "sendmail"):
        if postfix_command(program) is None:
            return f"Postfix is not installed ({program} not found; .ci/run installs it)"
    try:
        pwd.getpwnam(MAIL_OWNER)
        grp.getgrnam(SETGID_GROUP)
    except KeyError:
        return f"the {MAIL_OWNER} user or {SETGID_GROUP} group is missing (install Postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (master(8) starts as root); CI runs as root"
    return None


def wait_until(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``condition`` until it returns something truthy (returned) or fail after ``timeout``
    seconds with a :class:`PostfixError` naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise PostfixError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def _drain(fd: int) -> bytes:
    """What is readable on ``fd`` now (a pseudo-terminal a daemon may still hold open)."""
    chunks = []
    while select.select([fd], [], [], 0.05)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).replace(b"\r\n", b"\n")


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not reaped, is not running)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _require_loopback(address: str, what: str) -> None:
    if ipaddress.ip_address(address) not in ipaddress.ip_network("127.0.0.0/8"):
        raise ValueError(f"{what} {address} is not on 127.0.0.0/8; this Postfix is loopback-only")


def is_listening(address: str, port: int) -> bool:
    """True when a TCP socket listens on ``address:port`` (or on 0.0.0.0:port) in this network
    namespace (read from /proc/net/tcp, so no connection is made and nothing is logged)."""
    wanted = {
        f"{int(ipaddress.IPv4Address(a)).to_bytes(4, 'big')[::-1].hex().upper()}:{port:04X}"
        for a in (address, "0.0.0.0")
    }
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[1] in wanted and fields[3] == "0A":  # 0A: TCP_LISTEN
                return True
    return False


def _as_pem(data: bytes) -> bytes:
    """PEM certificates from PEM or DER bytes (Windows-style .cer files may be either)."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        return b"".join(
            c.public_bytes(serialization.Encoding.PEM)
            for c in x509.load_pem_x509_certificates(data)
        )
    return x509.load_der_x509_certificate(data).public_bytes(serialization.Encoding.PEM)


# --- routes and TLS policies ------------------------------------------------------------------


@dataclass(frozen=True)
class TlsPolicy:
    """One ``smtp_tls_policy_maps`` entry: a TLS level and its attributes.

    ``match`` names are what ``verify``/``secure`` compare with the server certificate (with a
    bracketed IP next hop there is no other name to compare). ``servername`` sets SNI.
    """

    level: str = "secure"
    match: tuple[str, ...] = ()
    servername: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.match, str):  # a common slip: match="name"
            object.__setattr__(self, "match", (self.match,))
        if self.level not in TLS_LEVELS:
            raise ValueError(f"TLS level {self.level!r} is not one of {', '.join(TLS_LEVELS)}")
        if self.level in ("verify", "secure") and not self.match:
            raise ValueError(
                f"level {self.level} with an [IP]:port next hop needs match=(certificate name,)"
            )

    def entry(self) -> str:
        """The right-hand side of the policy table entry."""
        parts = [self.level]
        if self.match:
            parts.append("match=" + ":".join(self.match))
        if self.servername:
            parts.append(f"servername={self.servername}")
        return " ".join(parts)


@dataclass(frozen=True)
class Route:
    """Send a domain's mail to ``[host]:port`` (no DNS) with ``policy``."""

    host: str
    port: int
    policy: TlsPolicy = TlsPolicy("may")

    def __post_init__(self) -> None:
        _require_loopback(self.host, "route host")

    @property
    def nexthop(self) -> str:
        """The next hop as written in the transport table and keyed in the policy table."""
        return f"[{self.host}]:{self.port}"


# --- the instance -----------------------------------------------------------------------------


MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
{address}:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PrivatePostfix:
    """A Postfix instance of its own in ``directory``, listening on ``address:port``.

    ``domains``: the domains it delivers locally (into Maildirs under ``directory/mail``).
    ``certificate_names``: CN and DNS SANs of the certificate it presents as server and client
    (default: ``hostname``); give a wrong name to test the other side's check.
    ``trusted_roots``: PEM (or DER) root certificate files, or PEM bytes, that it trusts both
    for client certificates (``smtpd_tls_CAfile``) and server certificates (``smtp_tls_CAfile``).
    ``routes``: domain -> :class:`Route` (``[IP]:port`` + TLS policy).
    ``require_client_certificate``: smtpd refuses TLS without a trusted client certificate
    (``smtpd_tls_security_level = encrypt`` + ``smtpd_tls_req_ccert = yes``).
    ``present_client_certificate``: whether the SMTP client presents its certificate.
    ``extra_config``: more main.cf parameters (they override the generated ones).
    """

    def __init__(
        self,
        directory: Path,
        *,
        address: str = "127.0.40.1",
        port: int | None = None,
        hostname: str = "mail.fabrikam.org",
        domains: Sequence[str] = ("fabrikam.org",),
        certificate_names: Sequence[str] | None = None,
        trusted_roots: Iterable[Path | bytes] = (),
        routes: Mapping[str, Route] | None = None,
        ca: LocalCA | None = None,
        bind_address: str | None = None,
        require_client_certificate: bool = False,
        present_client_certificate: bool = True,
        extra_config: Mapping[str, str] | None = None,
    ) -> None:
        _require_loopback(address, "listening address")
        if bind_address is not None:
            _require_loopback(bind_address, "source address")
        if not domains:
            raise ValueError("give at least one local domain")
        self.directory = Path(directory).resolve()
        self.address = address
        self.port = port if port is not None else free_port(address)
        self.hostname = hostname
        self.domains = tuple(domains)
        self.bind_address = bind_address or address
        self.require_client_certificate = require_client_certificate
        self.present_client_certificate = present_client_certificate
        self.extra_config = dict(extra_config or {})
        self.routes: dict[str, Route] = dict(routes or {})
        self.ca = ca or LocalCA(f"{self.domains[0]} Root CA", organization=self.domains[0])
        self.certificate_names = tuple(certificate_names or (hostname,))
        self._roots = [
            _as_pem(r if isinstance(r, bytes) else Path(r).read_bytes()) for r in trusted_roots
        ]
        self._owner = pwd.getpwnam(MAIL_OWNER)
        self.running = False

        self.config_dir = self.directory / "etc"
        self.queue_dir = self.directory / "queue"
        self.data_dir = self.directory / "data"
        self.tls_dir = self.directory / "tls"
        self.mail_dir = self.directory / "mail"
        self.maillog = self.directory / "maillog"
        self.ca_path = self.tls_dir / "ca.pem"
        self.cert_path = self.tls_dir / "server.pem"
        self.key_path = self.tls_dir / "server.key"
        self.roots_path = self.tls_dir / "roots.pem"
        self._build()

    # -- configuration ---------------------------------------------------------------------

    def _build(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)
        for folder in (self.config_dir, self.queue_dir, self.tls_dir):
            folder.mkdir(exist_ok=True)
            folder.chmod(0o755)
            os.chown(folder, 0, 0)
        for folder in (self.data_dir, self.mail_dir):
            folder.mkdir(exist_ok=True)
            os.chown(folder, self._owner.pw_uid, self._owner.pw_gid)
        self.data_dir.chmod(0o700)
        self.ca.write(self.ca_path)
        self._write_certificate()
        self._write_roots()
        self._write_tables()
        (self.config_dir / "master.cf").write_text(
            MASTER_CF.format(address=self.address, port=self.port)
        )
        (self.config_dir / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in self.main_cf().items())
        )

    def _write_certificate(self) -> None:
        issued = self.ca.issue(self.certificate_names)
        issued.write(self.tls_dir, "server")

    def _write_roots(self) -> None:
        self.roots_path.write_bytes(b"".join(self._roots))

    def _write_tables(self) -> None:
        transport, policy = [], {}
        for domain, route in sorted(self.routes.items()):
            transport.append(f"{domain} smtp:{route.nexthop}\n")
            previous = policy.setdefault(route.nexthop, route.policy)
            if previous != route.policy:
                raise ValueError(f"two routes to {route.nexthop} with different TLS policies")
        (self.config_dir / "transport").write_text("".join(transport))
        (self.config_dir / "tls_policy").write_text(
            "".join(f"{hop} {p.entry()}\n" for hop, p in policy.items())
        )
        (self.config_dir / "vmailbox").write_text(
            "".join(f"@{domain} {domain}/\n" for domain in self.domains)
        )

    def main_cf(self) -> dict[str, str]:
        """The main.cf parameters of this instance (see the module docstring for why)."""
        etc = self.config_dir
        config = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "mail_owner": MAIL_OWNER,
            "setgid_group": SETGID_GROUP,
            "myhostname": self.hostname,
            "mydomain": self.domains[0],
            "myorigin": "$mydomain",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "smtp_bind_address": self.bind_address,
            "mynetworks": "127.0.0.0/8",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.directory),
            "smtp_dns_support_level": "disabled",
            "smtpd_peername_lookup": "no",
            "default_transport": "error:5.4.4 this private Postfix reaches only its transport map",
            "transport_maps": f"texthash:{etc / 'transport'}",
            "smtp_tls_policy_maps": f"texthash:{etc / 'tls_policy'}",
            "virtual_mailbox_domains": " ".join(self.domains),
            "virtual_mailbox_base": str(self.mail_dir),
            "virtual_mailbox_maps": f"texthash:{etc / 'vmailbox'}",
            "virtual_uid_maps": f"static:{self._owner.pw_uid}",
            "virtual_gid_maps": f"static:{self._owner.pw_gid}",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "notify_classes": "",
            "smtpd_tls_security_level": "encrypt" if self.require_client_certificate else "may",
            "smtpd_tls_cert_file": str(self.cert_path),
            "smtpd_tls_key_file": str(self.key_path),
            "smtpd_tls_ask_ccert": "yes",
            "smtpd_tls_req_ccert": "yes" if self.require_client_certificate else "no",
            "smtpd_tls_loglevel": "1",
            "smtpd_tls_received_header": "yes",
            "smtp_tls_security_level": "may",
            "smtp_tls_loglevel": "1",
        }
        if self.present_client_certificate:
            config["smtp_tls_cert_file"] = str(self.cert_path)
            config["smtp_tls_key_file"] = str(self.key_path)
        if self._roots:
            config["smtpd_tls_CAfile"] = str(self.roots_path)
            config["smtp_tls_CAfile"] = str(self.roots_path)
        elif self.require_client_certificate:
            raise ValueError("require_client_certificate needs trusted_roots")
        config.update(self.extra_config)
        return config

    def _rewrite_main_cf(self) -> None:
        (self.config_dir / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in self.main_cf().items())
        )

    @property
    def nexthop(self) -> str:
        """How another MTA's policy table names this instance: ``[address]:port``."""
        return f"[{self.address}]:{self.port}"

    def certificate(self) -> x509.Certificate:
        """The leaf certificate this instance presents now."""
        return x509.load_pem_x509_certificates(self.cert_path.read_bytes())[0]

    # -- changes while running -------------------------------------------------------------

    def set_route(self, domain: str, route: Route | None) -> None:
        """Route ``domain`` (None: remove it); reload when running."""
        if route is None:
            self.routes.pop(domain, None)
        else:
            self.routes[domain] = route
        self._write_tables()
        self.reload()

    def set_certificate_names(self, names: Sequence[str]) -> None:
        """Issue a new certificate for ``names`` from this instance's CA; reload when running."""
        self.certificate_names = tuple(names)
        self._write_certificate()
        self.reload()

    def set_trusted_roots(self, roots: Iterable[Path | bytes]) -> None:
        """Replace the trusted roots; reload when running."""
        self._roots = [_as_pem(r if isinstance(r, bytes) else Path(r).read_bytes()) for r in roots]
        self._write_roots()
        self._rewrite_main_cf()
        self.reload()

    # -- commands --------------------------------------------------------------------------

    def _run(
        self, program: str, *args: str, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        path = postfix_command(program)
        if path is None:
            raise PostfixError(f"{program} is not installed")
        env = {"PATH": _SBIN_PATH, "LANG": "C"}
        # Postfix commands print their errors on stderr only when it is a terminal (otherwise
        # to syslog, i.e. nowhere here), so stderr is a pseudo-terminal.
        primary, secondary = os.openpty()
        try:
            done = subprocess.run(
                [path, *args],
                input=input,
                stdout=subprocess.PIPE,
                stderr=secondary,
                env=env,
                timeout=60,
                check=False,
            )
            os.close(secondary)
            secondary = -1
            done.stderr = _drain(primary)
        finally:
            if secondary >= 0:
                os.close(secondary)
            os.close(primary)
        if check and done.returncode != 0:
            raise PostfixError(
                f"{program} {' '.join(args)} exited {done.returncode}:\n"
                + done.stdout.decode(errors="replace")
                + done.stderr.decode(errors="replace")
                + self.log_tail()
            )
        return done

    def postfix(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """Run ``postfix -c DIR ARGS``."""
        return self._run("postfix", "-c", str(self.config_dir), *args, check=check)

    def postconf(self, *names: str) -> dict[str, str]:
        """Effective values of main.cf parameters (``postconf -c DIR -h``)."""
        out = self._run("postconf", "-c", str(self.config_dir), *names).stdout.decode()
        return dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)

    def check(self) -> str:
        """``postfix check``: its warnings (empty when all is well); raises on a fatal error."""
        done = self.postfix("check")
        return (done.stdout + done.stderr).decode(errors="replace")

    def _check_traversable(self) -> None:
        for folder in [self.directory, *self.directory.parents]:
            mode = folder.stat()
            if not (mode.st_mode & stat.S_IXOTH or mode.st_uid == self._owner.pw_uid):
                raise PostfixError(
                    f"{folder} is not traversable by the {MAIL_OWNER} user (mode "
                    f"{stat.filemode(mode.st_mode)}); put the instance under a world-"
                    "traversable folder such as /tmp (virtual(8) delivers as that user)"
                )

    def start(self, timeout: float = 30.0) -> None:
        """Start the instance; return once master(8) is up and smtpd's port is listening."""
        self._check_traversable()
        if is_listening(self.address, self.port):
            raise PostfixError(f"{self.address}:{self.port} is already taken")
        mark = self.log_position()
        self.postfix("start")  # master -w: returns once master has initialized
        self.running = True
        self.wait_for_log(r"postfix/master\[\d+\]: daemon started", timeout, since=mark)
        wait_until(
            lambda: is_listening(self.address, self.port),
            timeout,
            f"Postfix to listen on {self.address}:{self.port}",
        )

    def _master_pid(self) -> int | None:
        """The pid of this instance's master(8) while it runs."""
        try:
            pid = int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _alive(pid) else None

    def processes(self) -> list[int]:
        """Pids of this instance's processes: every Postfix daemon runs in its queue_directory
        (a zombie has no working directory and does not count)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.readlink(entry / "cwd") == str(self.queue_dir):
                        pids.append(int(entry.name))
                except OSError:
                    continue
        return pids

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the instance (idempotent); fail if any of its processes or its listening
        socket is left.

        ``postfix stop`` sends master(8) SIGTERM (master then terminates its children) and polls
        ``master -t`` once a second; ``postfix abort`` sends the same SIGTERM without that wait,
        and the wait here polls every 50 ms instead (1.5 s saved per instance).
        """
        if self._master_pid() is not None:
            self.postfix("abort", check=False)
        self.running = False
        wait_until(lambda: self._master_pid() is None, timeout, "Postfix master to exit")
        wait_until(
            lambda: not self.processes(),
            timeout,
            f"every process of the instance to exit (left: {self.processes()})",
        )
        wait_until(
            lambda: not is_listening(self.address, self.port),
            timeout,
            f"nothing listening on {self.address}:{self.port} any more",
        )

    def reload(self, timeout: float = 30.0) -> None:
        """``postfix reload`` when running (new tables, certificates and roots take effect);
        returns once master(8) logged that it re-read the configuration."""
        if not self.running:
            return
        mark = self.log_position()
        self.postfix("reload")
        self.wait_for_log(r"postfix/master\[\d+\]: reload ", timeout, since=mark)

    def flush(self) -> None:
        """``postqueue -f``: try every queued message now."""
        self._run("postqueue", "-c", str(self.config_dir), "-f")

    def queue(self) -> list[dict[str, object]]:
        """The queue as ``postqueue -j`` reports it (one dict per message)."""
        out = self._run("postqueue", "-c", str(self.config_dir), "-j").stdout.decode()
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def send(
        self,
        mail_from: str,
        rcpt: str | Sequence[str],
        subject: str,
        body: str = "Sent by a private Postfix.\n",
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Inject a message with ``sendmail -C DIR``; return its Message-ID."""
        rcpts = [rcpt] if isinstance(rcpt, str) else list(rcpt)
        message = EmailMessage()
        message["From"] = mail_from
        message["To"] = ", ".join(rcpts)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.hostname)
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        self._run(
            "sendmail",
            "-C",
            str(self.config_dir),
            "-i",
            "-f",
            mail_from,
            "--",
            *rcpts,
            input=message.as_bytes(policy=email_policy.SMTP),
        )
        return str(message["Message-ID"])

    # -- what happened ---------------------------------------------------------------------

    def log_text(self) -> str:
        """The whole maillog so far."""
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_position(self) -> int:
        """A mark for :meth:`wait_for_log`'s ``since``: the log's current length."""
        return len(self.log_text())

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the maillog, formatted for an error message."""
        tail = self.log_text().splitlines()[-lines:]
        return f"\n--- last lines of {self.maillog} ---\n" + "\n".join(tail) if tail else ""

    def wait_for_log(self, pattern: str, timeout: float = 15.0, *, since: int = 0) -> re.Match[str]:
        """Wait until a maillog line (after position ``since``) matches ``pattern``."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            return regex.search(self.log_text()[since:])

        try:
            return wait_until(found, timeout, f"maillog line /{pattern}/")
        except PostfixError as error:
            raise PostfixError(f"{error}{self.log_tail()}") from None

    def delivered_messages(self, recipient: str | None = None) -> list[EmailMessage]:
        """Messages delivered locally (every domain's Maildir), oldest first; only those for
        ``recipient`` (their ``Delivered-To``) when given."""
        files: list[Path] = []
        for domain in self.domains:
            for sub in ("new", "cur"):
                folder = self.mail_dir / domain / sub
                if folder.is_dir():
                    files.extend(p for p in folder.iterdir() if p.is_file())
        files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
        parser = BytesParser(policy=email_policy.default)
        messages = []
        for path in files:
            with path.open("rb") as f:
                message = parser.parse(f)
            assert isinstance(message, EmailMessage)
            if recipient is None or str(message["Delivered-To"]).lower() == recipient.lower():
                messages.append(message)
        return messages

    def wait_for_messages(
        self, count: int, timeout: float = 15.0, *, recipient: str | None = None
    ) -> list[EmailMessage]:
        """Wait until at least ``count`` messages were delivered locally (for ``recipient``
        when given); return them all."""

        def enough() -> list[EmailMessage] | None:
            messages = self.delivered_messages(recipient)
            return messages if len(messages) >= count else None

        try:
            return wait_until(enough, timeout, f"{count} delivered message(s) in {self.mail_dir}")
        except PostfixError as error:
            raise PostfixError(f"{error}{self.log_tail()}") from None

    def __repr__(self) -> str:
        return f"<PrivatePostfix {self.hostname} {self.address}:{self.port} in {self.directory}>"
