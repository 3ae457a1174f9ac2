"""TLS for the simulated transport servers: OpenSSL contexts, Twisted connection creators,
peer verification at lab time, and the protocol-log description of a negotiated session.

Above the Twisted line: this module uses pyOpenSSL and Twisted's TLS interfaces; the decisions
it feeds (Domain Security, §4.2/§5.3) stay pure in ``labsim.policy`` over :class:`PeerCertificate`.

Rules kept here:

* The handshake never rejects a peer certificate. Both sides request/accept any certificate and
  record it; :func:`verify_peer` then validates the chain with a fresh X509 store holding the
  server's trusted roots, at *lab* time (``X509Store.set_time``), so that scenarios can move the
  clock past a certificate's NotAfter. OpenSSL's own handshake-time verdict would use the wall
  clock and an empty trust store, and is therefore ignored.
* The server requests, but does not require, a client certificate: Exchange asks for one and
  Domain Security decides at MAIL FROM what a missing one means (``EmptyCertificate``).
* Contexts are built once per (role, certificate) in a :class:`TlsContextCache`; nothing per
  session rebuilds them.
* ECDHE runs on P-256, as between two Windows Server 2012 R2 hosts; the negotiated session is
  described in SCHANNEL's words (:func:`schannel_algorithms`, docs/exchange-reference.md §17 C3).
* Sessions are resumed as SCHANNEL resumes them (session ids, no tickets; the client cache is
  keyed by sending server, client certificate and target, and entries live 10 hours of lab
  time): see :class:`TlsSessionCache`. Nothing the logs or the decisions show depends on it,
  because the peer's certificates travel with the session and are verified again every time.
"""

from __future__ import annotations

import calendar
import enum
import functools
import queue
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import SSL, crypto

try:  # pyOpenSSL's cffi binding: private, so only the handshake counts depend on it
    from OpenSSL._util import lib as _openssl_lib
except ImportError:  # pragma: no cover - a pyOpenSSL without it counts every handshake as full
    _openssl_lib = None
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IOpenSSLServerConnectionCreator,
)
from zope.interface import implementer

from labsim.errors import PkiError
from labsim.model.values import is_ip_literal
from labsim.pki.certificate import ExchangeCertificate, is_self_signed, subject_and_issuer_der
from labsim.pki.memo import memo_by_identity
from labsim.pki.validation import (
    EMPTY_PEER,
    CertificateValidationStatus,
    PeerCertificate,
    has_eku,
    status_from_openssl_error,
)

SESSION_ID_CONTEXT = b"labsim-smtp"
"""Session id context of server contexts (OpenSSL refuses session reuse without one when a
client certificate is requested)."""

SESSION_CACHE_LIFETIME = timedelta(hours=10)
"""How long SCHANNEL keeps a TLS session for resumption (ClientCacheTime and ServerCacheTime
default to 10 hours)."""


class TlsRole(enum.Enum):
    """Which end of the handshake a context serves."""

    SERVER = "Server"
    CLIENT = "Client"


def _accept_any(
    connection: SSL.Connection, certificate: crypto.X509, errno: int, depth: int, ok: int
) -> bool:
    # Verification happens after the handshake, at lab time, in verify_peer (module docstring).
    return True


def _new_context(cert: ExchangeCertificate | None, *, allow_tls13: bool) -> SSL.Context:
    context = SSL.Context(SSL.TLS_METHOD)
    # A lab holds thousands of sessions at once (a full mesh); OpenSSL releases a connection's
    # record buffers (up to 34 KB) while it waits, which is nearly always.
    context.set_mode(SSL.MODE_RELEASE_BUFFERS)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    if not allow_tls13:
        # Exchange 2013 on Windows Server 2012 R2 (SCHANNEL) has no TLS 1.3; a lab can say so.
        context.set_max_proto_version(SSL.TLS1_2_VERSION)
    # SCHANNEL on Windows Server 2012 R2 has no X25519 (added in Windows Server 2016) and puts
    # P-256 first: ECDHE runs on P-256, and the log says "CALG_ECDHE with strength 256 bits".
    context.set_tmp_ecdh(ec.SECP256R1())
    if cert is not None:
        if cert.private_key is None:
            raise PkiError(
                f"certificate {cert.thumbprint} ({cert.subject}) has no private key and cannot "
                "be used for TLS; import it with its key"
            )
        context.use_certificate(cert.certificate)
        context.use_privatekey(cert.private_key)
        for intermediate in cert.chain:
            context.add_extra_chain_cert(intermediate)
        context.check_privatekey()
    return context


def server_context(cert: ExchangeCertificate | None, *, allow_tls13: bool = False) -> SSL.Context:
    """Build the context of a receiving server presenting ``cert`` (with its chain).

    TLS 1.2 minimum; a client certificate is requested but not required and never rejected.
    With ``cert`` None the handshake fails for lack of a certificate (a lab fault, not a bug).
    """
    context = _new_context(cert, allow_tls13=allow_tls13)
    context.set_verify(SSL.VERIFY_PEER, _accept_any)
    context.set_session_id(SESSION_ID_CONTEXT)
    # SCHANNEL on Windows Server 2012 R2 resumes by session id and issues no tickets. The server
    # cache runs on the wall clock; the client side enforces the 10 lab hours (TlsSessionCache),
    # so the generous wall-clock timeout here never decides anything.
    context.set_options(SSL.OP_NO_TICKET)
    context.set_timeout(int(SESSION_CACHE_LIFETIME.total_seconds()))
    return context


def client_context(cert: ExchangeCertificate | None, *, allow_tls13: bool = False) -> SSL.Context:
    """Build the context of a sending server, presenting ``cert`` as client certificate if given.

    The server's certificate is accepted during the handshake and checked by :func:`verify_peer`.
    """
    context = _new_context(cert, allow_tls13=allow_tls13)
    context.set_verify(SSL.VERIFY_PEER, _accept_any)
    context.set_options(SSL.OP_NO_TICKET)
    return context


@dataclass(frozen=True)
class TlsSessionKey:
    """What a cached client session belongs to: SCHANNEL keys its client cache by credential
    and target, and each server has its own cache."""

    source_server: str
    client_thumbprint: str  # "" when no client certificate is presented
    address: str
    port: int


def session_reused(connection: SSL.Connection) -> bool:
    """Whether the handshake of ``connection`` resumed a cached session (False when this
    pyOpenSSL cannot tell)."""
    # pyOpenSSL has no wrapper for SSL_session_reused; its cffi binding does.
    handle = getattr(connection, "_ssl", None)
    if _openssl_lib is None or handle is None:
        return False
    return bool(_openssl_lib.SSL_session_reused(handle))


class TlsSessionCache:
    """Client-side TLS sessions of every server of a lab, with handshake counts.

    A session is offered again to the same target by the same server with the same client
    certificate for :data:`SESSION_CACHE_LIFETIME` of lab time. A changed certificate on either
    side gives a full handshake: the client's is part of the key, and a server presenting a new
    certificate has a new context whose cache knows none of the old sessions.
    """

    def __init__(self) -> None:
        self._sessions: dict[TlsSessionKey, tuple[SSL.Session, datetime]] = {}
        self.full_handshakes = 0
        self.resumed_handshakes = 0

    def offer(self, key: TlsSessionKey, at: datetime) -> SSL.Session | None:
        """The session to offer for ``key`` at lab time ``at``, or None for a full handshake."""
        entry = self._sessions.get(key)
        if entry is None:
            return None
        session, stored_at = entry
        if at - stored_at >= SESSION_CACHE_LIFETIME or at < stored_at:
            del self._sessions[key]
            return None
        return session

    def completed(self, key: TlsSessionKey, connection: SSL.Connection, at: datetime) -> None:
        """A handshake for ``key`` completed: count it and keep its session.

        A resumed session keeps its original time, as SCHANNEL's cache entries do.
        """
        if session_reused(connection) and key in self._sessions:
            self.resumed_handshakes += 1
            return
        self.full_handshakes += 1
        session = connection.get_session()
        if session is not None:
            self._sessions[key] = (session, at)

    def forget(self, key: TlsSessionKey) -> None:
        """Drop the session of ``key`` (its handshake failed)."""
        self._sessions.pop(key, None)


class TlsContextCache:
    """Contexts built once per (role, certificate thumbprint, TLS 1.3 allowed) and reused."""

    def __init__(self) -> None:
        self._contexts: dict[tuple[TlsRole, str, bool], SSL.Context] = {}

    def __len__(self) -> int:
        return len(self._contexts)

    def get(
        self, role: TlsRole, cert: ExchangeCertificate | None, *, allow_tls13: bool = False
    ) -> SSL.Context:
        """The context for ``role`` presenting ``cert``, built on first use."""
        key = (role, cert.thumbprint if cert is not None else "", allow_tls13)
        context = self._contexts.get(key)
        if context is None:
            build = server_context if role is TlsRole.SERVER else client_context
            context = build(cert, allow_tls13=allow_tls13)
            self._contexts[key] = context
        return context

    def server(self, cert: ExchangeCertificate | None, *, allow_tls13: bool = False) -> SSL.Context:
        """The server context presenting ``cert``."""
        return self.get(TlsRole.SERVER, cert, allow_tls13=allow_tls13)

    def client(self, cert: ExchangeCertificate | None, *, allow_tls13: bool = False) -> SSL.Context:
        """The client context presenting ``cert``."""
        return self.get(TlsRole.CLIENT, cert, allow_tls13=allow_tls13)


@implementer(IOpenSSLServerConnectionCreator)
class ServerConnectionCreator:
    """Server side of STARTTLS: one :class:`SSL.Connection` per session, over the lab
    connection's socket (:meth:`connection_over`, labsim.net.starttls) or memory BIOs
    (Twisted's ``transport.startTLS``)."""

    client_side = False

    def __init__(self, context: SSL.Context) -> None:
        self.context = context

    def serverConnectionForTLS(self, tlsProtocol: object) -> SSL.Connection:
        """Return a new connection; Twisted puts it in accept state."""
        return SSL.Connection(self.context, None)

    def connection_over(self, sock: socket.socket) -> SSL.Connection:
        """A connection in accept state that reads and writes ``sock`` itself."""
        connection = SSL.Connection(self.context, sock)
        connection.set_accept_state()
        return connection


@implementer(IOpenSSLClientConnectionCreator)
class ClientConnectionCreator:
    """Client side of STARTTLS (as :class:`ServerConnectionCreator`); sends SNI when
    ``server_name`` is a DNS name."""

    client_side = True

    def __init__(
        self,
        context: SSL.Context,
        *,
        server_name: str | None = None,
        session: SSL.Session | None = None,
    ) -> None:
        self.context = context
        self.server_name = server_name
        self.session = session

    def clientConnectionForTLS(self, tlsProtocol: object) -> SSL.Connection:
        """Return a new connection; Twisted puts it in connect state."""
        return self._connection(None)

    def connection_over(self, sock: socket.socket) -> SSL.Connection:
        """A connection in connect state that reads and writes ``sock`` itself."""
        connection = self._connection(sock)
        connection.set_connect_state()
        return connection

    def _connection(self, sock: socket.socket | None) -> SSL.Connection:
        connection = SSL.Connection(self.context, sock)
        if self.session is not None:
            connection.set_session(self.session)
        if self.server_name and not is_ip_literal(self.server_name):
            # SNI carries host names only (RFC 6066); an IP literal is not sent.
            connection.set_tlsext_host_name(self.server_name.encode("idna"))
        return connection


class HandshakeThreads:
    """A worker thread for the expensive steps of full server-side TLS handshakes in a live
    lab (labsim.net.starttls.HandshakeOffload).

    OpenSSL releases the GIL while it computes (ECDHE, the ECDSA signature, the client's
    CertificateVerify), so a handshake step in this thread runs beside the reactor, on the
    host's second core. Only a live lab uses it (``labsim up``/``labsim shell``, where the lab
    clock is the wall clock); scenario runs stay in one thread and deterministic. Rules kept:

    * While a step is in the worker the lab is busy (an activity token), so run_until_idle and
      the shell's wait never see idle in the middle of a handshake.
    * The connection neither reads nor writes meanwhile, and a close waits for the step
      (labsim.net.starttls); each step is one ``do_handshake`` on a non-blocking socket, so it
      never waits on the peer.
    * Once a step shows the session resumed, the rest runs in the reactor's thread (cheap).
    * :meth:`stop` takes every step back (bounded) before the lab closes its connections;
      the thread is a daemon, so even a bug cannot keep the process alive.
    """

    def __init__(self, reactor: Any, activity: Any) -> None:
        self._reactor = reactor
        self._activity = activity
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._work, name="labsim TLS handshakes", daemon=True
        )
        self.in_flight = 0
        """Steps handed to the worker and not yet back in the reactor's thread."""
        self.steps = 0
        """Steps run in the worker so far."""
        self.stopped = False
        self._thread.start()

    def run(self, step: Any, done: Any) -> None:
        """Run ``step`` in the worker; ``done(error)`` follows in the reactor's thread.
        Once stopped, the step runs here and now."""
        if self.stopped:
            error: BaseException | None = None
            try:
                step()
            except BaseException as err:
                error = err
            done(error)
            return
        token = self._activity.begin("TLS handshake in a worker thread")
        self.in_flight += 1
        self.steps += 1
        self._queue.put((step, done, token))

    def keep(self, connection: SSL.Connection | None) -> bool:
        """Go on in the worker unless the handshake resumed a session."""
        return connection is not None and not session_reused(connection)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            step, done, token = item
            error: BaseException | None = None
            try:
                step()
            except BaseException as err:  # handed to the reactor's thread, which judges it
                error = err
            self._reactor.callFromThread(self._back, done, error, token)

    def _back(self, done: Any, error: BaseException | None, token: int) -> None:
        self.in_flight -= 1
        self._activity.end(token)
        done(error)

    def stop(self, bound: float = 5.0) -> None:
        """Take every step back (turning the reactor, at most ``bound`` seconds), then end
        the worker."""
        self.stopped = True
        deadline = time.monotonic() + bound
        while self.in_flight and time.monotonic() < deadline:
            self._reactor.iterate(0.05)
        self._queue.put(None)
        self._thread.join(bound)


def log_sending_certificate(log: Any, at: datetime, cert: ExchangeCertificate) -> None:
    """The protocol-log block for the certificate this side presents (``Sending certificate``:
    subject, issuer, serial, thumbprint, alternate names; docs/exchange-reference.md §7.3)."""
    log.certificate(
        at,
        "Sending certificate",
        thumbprint=cert.thumbprint,
        subject=cert.subject,
        issuer=cert.issuer,
        serial=cert.serial_number,
        alternate_names=cert.certificate_domains,
    )


@memo_by_identity()
def _openssl_x509(cert: x509.Certificate) -> crypto.X509:
    # Converting is not free and the same roots are converted for every verification.
    return crypto.X509.from_cryptography(cert)


def peer_chain(connection: SSL.Connection) -> tuple[x509.Certificate, ...]:
    """The peer's certificates, leaf first, without duplicates; () when it sent none.

    OpenSSL includes the leaf in the chain on the client side but not on the server side.
    """
    leaf = connection.get_peer_certificate()
    if leaf is None:
        return ()
    chain = [_from_der(crypto.dump_certificate(crypto.FILETYPE_ASN1, leaf))]
    for cert in connection.get_peer_cert_chain() or []:
        parsed = _from_der(crypto.dump_certificate(crypto.FILETYPE_ASN1, cert))
        if parsed not in chain:  # certificates compare by their DER encoding
            chain.append(parsed)
    return tuple(chain)


@functools.lru_cache(maxsize=4096)
def _from_der(der: bytes) -> x509.Certificate:
    # A peer presents the same few certificates session after session: parse each once, and
    # hand out one object, which the memos keyed by certificate then find by identity.
    return x509.load_der_x509_certificate(der)


def roots_for_chain(
    chain: Iterable[x509.Certificate], trusted_roots: Iterable[x509.Certificate]
) -> list[x509.Certificate]:
    """The trusted roots OpenSSL could use for ``chain``: those whose subject is a subject or
    issuer in the chain, and, in turn, the issuers of those (a "root" may be an intermediate).

    OpenSSL finds issuers only by subject name, so the verdict is the same as with every root;
    a server trusting 50 organizations' roots no longer loads all 50 for each session.
    """
    wanted: set[bytes] = set()
    for cert in chain:
        wanted.update(subject_and_issuer_der(cert))
    candidates = [(root, *subject_and_issuer_der(root)) for root in trusted_roots]
    chosen: list[x509.Certificate] = []
    taken: set[int] = set()
    grew = True
    while grew:
        grew = False
        for index, (root, subject, issuer) in enumerate(candidates):
            if index not in taken and subject in wanted:
                taken.add(index)
                chosen.append(root)
                if issuer not in wanted:
                    wanted.add(issuer)
                    grew = True
    return chosen


@memo_by_identity(8192)
def _validity_seconds(cert: x509.Certificate) -> tuple[int, int]:
    return (
        calendar.timegm(cert.not_valid_before_utc.timetuple()),
        calendar.timegm(cert.not_valid_after_utc.timetuple()),
    )


def _crl_times(crl: x509.CertificateRevocationList) -> tuple[int, ...]:
    times = [calendar.timegm(crl.last_update_utc.timetuple())]
    if crl.next_update_utc is not None:
        times.append(calendar.timegm(crl.next_update_utc.timetuple()))
    return tuple(times)


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


class _VerdictCache:
    """Verdicts of :func:`verify_chain`, reused only for exactly the same question.

    OpenSSL's verdict depends on the certificates, the trusted roots it can reach, the CRLs,
    the flags, and the verification time, which ``set_time`` truncates to whole seconds and
    OpenSSL only ever *compares* with the NotBefore/NotAfter of each certificate and the
    ThisUpdate/NextUpdate of each CRL. So the key holds, instead of the time, the sign of
    ``time - t`` for each of those instants: a verdict is reused only while no certificate or
    CRL has come into or gone out of validity. The key holds the certificates' and CRLs'
    identities (CRLs are not hashable, and hashing a certificate runs over its whole DER every
    time, see :mod:`labsim.pki.memo`); the entry holds the objects themselves, so an id is never
    reused while its entry lives, and a lookup checks them by identity. (Windows' chain engine
    caches chains too; this is an exact memo.)
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._entries: dict[
            tuple[Any, ...], tuple[tuple[Any, ...], CertificateValidationStatus, str]
        ] = {}

    def key(
        self,
        chain: tuple[x509.Certificate, ...],
        roots: tuple[x509.Certificate, ...],
        crls: tuple[x509.CertificateRevocationList, ...],
        at_seconds: int,
        check_revocation: bool,
        purpose: str,
    ) -> tuple[Any, ...]:
        instants: list[int] = []
        for cert in chain + roots:
            instants.extend(_validity_seconds(cert))
        for crl in crls:
            instants.extend(_crl_times(crl))
        signs = tuple(_sign(at_seconds - instant) for instant in instants)
        return (
            tuple(map(id, chain)),
            tuple(map(id, roots)),
            tuple(map(id, crls)),
            signs,
            check_revocation,
            purpose,
        )

    def get(
        self, key: tuple[Any, ...], objects: tuple[Any, ...]
    ) -> tuple[CertificateValidationStatus, str] | None:
        """The verdict for ``key``; ``objects`` are the chain, roots and CRLs it names."""
        entry = self._entries.get(key)
        # The key holds the objects' ids, so the lengths match; the identities must too.
        if entry is None or any(
            held is not given for held, given in zip(entry[0], objects, strict=True)
        ):
            return None
        return entry[1], entry[2]

    def put(
        self,
        key: tuple[Any, ...],
        objects: tuple[Any, ...],
        status: CertificateValidationStatus,
        detail: str,
    ) -> None:
        """Remember the verdict for ``key``, holding ``objects`` (chain, roots, CRLs)."""
        if len(self._entries) >= self.LIMIT:
            self._entries.clear()
        self._entries[key] = (objects, status, detail)


_VERDICTS = _VerdictCache()


def verify_chain(
    chain: tuple[x509.Certificate, ...],
    *,
    trusted_roots: Iterable[x509.Certificate],
    at: datetime,
    crls: Iterable[x509.CertificateRevocationList] = (),
    check_revocation: bool = False,
    purpose: str = "serverAuth",
) -> PeerCertificate:
    """Validate ``chain`` (leaf first) with OpenSSL at lab time ``at``; see :func:`verify_peer`.

    The same question asked again (same certificates, reachable roots, CRLs and purpose, with
    no validity boundary crossed) gets the earlier answer (:class:`_VerdictCache`).
    """
    if not chain:
        return EMPTY_PEER
    if at.tzinfo is None:
        raise PkiError(f"at {at.isoformat()} has no time zone; pass an aware UTC datetime")
    chain = tuple(chain)
    roots = tuple(roots_for_chain(chain, trusted_roots))
    crl_list = tuple(crls) if check_revocation else ()
    key = _VERDICTS.key(chain, roots, crl_list, _store_seconds(at), check_revocation, purpose)
    objects = (*chain, *roots, *crl_list)
    known = _VERDICTS.get(key, objects)
    if known is None:
        peer = _verify_with_openssl(chain, roots, at, crl_list, check_revocation, purpose)
        _VERDICTS.put(key, objects, peer.status, peer.detail)
        return peer
    return PeerCertificate(chain=chain, status=known[0], detail=known[1])


def _store_seconds(at: datetime) -> int:
    # What X509Store.set_time hands OpenSSL: the UTC wall-clock fields, whole seconds.
    return calendar.timegm(at.astimezone(UTC).timetuple())


def _verify_with_openssl(
    chain: tuple[x509.Certificate, ...],
    roots: tuple[x509.Certificate, ...],
    at: datetime,
    crls: tuple[x509.CertificateRevocationList, ...],
    check_revocation: bool,
    purpose: str,
) -> PeerCertificate:
    leaf, intermediates = chain[0], chain[1:]
    store = crypto.X509Store()
    for root in roots:
        store.add_cert(_openssl_x509(root))
    # set_time reads the datetime's wall-clock fields as UTC, so convert first; it also replaces
    # the store's verification parameters, so flags are set after it.
    store.set_time(at.astimezone(UTC))
    if check_revocation:
        for crl in crls:
            store.add_crl(crl)
        store.set_flags(crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL)
    context = crypto.X509StoreContext(
        store,
        _openssl_x509(leaf),
        chain=[_openssl_x509(cert) for cert in intermediates],
    )
    self_signed = is_self_signed(leaf)
    try:
        context.verify_certificate()
    except crypto.X509StoreContextError as err:
        errno, depth, message = err.errors[0], err.errors[1], str(err.errors[2])
        status = status_from_openssl_error(int(errno), int(depth), leaf_is_self_signed=self_signed)
        return PeerCertificate(chain=chain, status=status, detail=message)
    status = status_from_openssl_error(0, 0, leaf_is_self_signed=self_signed)
    if status is CertificateValidationStatus.VALID and not has_eku(leaf, purpose):
        return PeerCertificate(
            chain=chain,
            status=CertificateValidationStatus.WRONG_USAGE,
            detail=f"certificate is not valid for {purpose}",
        )
    return PeerCertificate(chain=chain, status=status)


def verify_peer(
    connection: SSL.Connection,
    *,
    trusted_roots: Iterable[x509.Certificate],
    at: datetime,
    crls: Iterable[x509.CertificateRevocationList] = (),
    check_revocation: bool = False,
    purpose: str = "serverAuth",
) -> PeerCertificate:
    """Validate the certificate the peer of ``connection`` presented, at lab time ``at``.

    A fresh store holds ``trusted_roots`` (the server's trusted root store); with
    ``check_revocation`` the ``crls`` are added and every certificate below the root must have
    one (a missing CRL gives ``RevocationOffline``). OpenSSL's error becomes Exchange's status
    through :func:`status_from_openssl_error`; a chain that verifies but lacks the ``purpose`` EKU
    ("serverAuth" when checking a server, "clientAuth" when checking a client) is ``WrongUsage``.
    No certificate gives ``EmptyCertificate``.
    """
    return verify_chain(
        peer_chain(connection),
        trusted_roots=trusted_roots,
        at=at,
        crls=crls,
        check_revocation=check_revocation,
        purpose=purpose,
    )


_PROTOCOLS = {"TLSv1": "TLS1", "TLSv1.1": "TLS1_1", "TLSv1.2": "TLS1_2", "TLSv1.3": "TLS1_3"}

# SCHANNEL's ALG_ID names and the strength it reports for each bulk cipher (3DES: 168 key bits).
_BULK = (
    (("AES256", "AES-256", "AES_256"), "CALG_AES_256", 256),
    (("AES128", "AES-128", "AES_128"), "CALG_AES_128", 128),
    (("DES-CBC3", "3DES"), "CALG_3DES", 168),
    # SCHANNEL has no ChaCha20 ALG_ID (Windows never offered it to Exchange 2013); named in style.
    (("CHACHA20",), "CALG_CHACHA20", 256),
)

# The MAC hash of a suite, with the strength SCHANNEL reports when it is an HMAC.
_HASHES = (
    ("SHA384", "CALG_SHA_384", 384),
    ("SHA256", "CALG_SHA_256", 256),
    ("SHA", "CALG_SHA1", 160),
)

# Named groups (OpenSSL's names, several spellings) and the key exchange strength they give.
_GROUP_BITS = {
    "secp256r1": 256,
    "prime256v1": 256,
    "p-256": 256,
    "secp384r1": 384,
    "p-384": 384,
    "secp521r1": 521,
    "p-521": 521,
    "x25519": 255,
    "x448": 448,
}


@dataclass(frozen=True)
class SchannelAlgorithms:
    """A negotiated TLS session as SCHANNEL describes it (``SecPkgContext_ConnectionInfo``):
    ALG_ID names and strengths, which Exchange copies into its protocol log."""

    protocol: str
    """``TLS1_2`` (the middle of ``SP_PROT_TLS1_2_SERVER``)."""
    bulk: str
    bulk_strength: int
    mac: str
    mac_strength: int
    key_exchange: str
    key_exchange_strength: int

    def success_line(self, *, server_side: bool) -> str:
        """The protocol-log line after a handshake (docs/exchange-reference.md §17 C3)."""
        side = "SERVER" if server_side else "CLIENT"
        return (
            f"TLS protocol SP_PROT_{self.protocol}_{side} negotiation succeeded using bulk "
            f"encryption algorithm {self.bulk} with strength {self.bulk_strength} bits, MAC hash "
            f"algorithm {self.mac} with strength {self.mac_strength} bits and key exchange "
            f"algorithm {self.key_exchange} with strength {self.key_exchange_strength} bits"
        )


def group_bits(group: str | None) -> int:
    """The strength SCHANNEL reports for an ECDHE/DHE named group: the curve's size in bits
    (256 for P-256), the prime's for ``ffdheN``; 0 when unknown."""
    name = (group or "").lower()
    if name in _GROUP_BITS:
        return _GROUP_BITS[name]
    if name.startswith("ffdhe") and name[5:].isdigit():
        return int(name[5:])
    return 0


def schannel_algorithms(
    protocol: str, cipher: str, *, group: str | None = None, rsa_key_bits: int = 0
) -> SchannelAlgorithms:
    """Map an OpenSSL protocol/suite name to SCHANNEL's description of it.

    * Bulk: ``CALG_AES_256``/``CALG_AES_128``/``CALG_3DES`` with their key sizes.
    * MAC: the suite's hash; an AEAD suite (GCM, ChaCha20-Poly1305, every TLS 1.3 suite) has
      no HMAC, and SCHANNEL reports its PRF hash with strength 0 (``MAC hash algorithm
      CALG_SHA_256 with strength 0 bits`` in real logs of a GCM session).
    * Key exchange: ``CALG_ECDHE`` with the curve's size (``group``), ``CALG_DH_EPHEM`` with the
      prime's size, ``CALG_RSA_KEYX`` with the RSA key's size (``rsa_key_bits``). TLS 1.3
      suites carry no key exchange; the group decides.
    """
    upper = cipher.upper()
    version = _PROTOCOLS.get(protocol, protocol.upper().replace("V", "").replace(".", "_"))
    bulk, bulk_bits = "CALG_" + upper.replace("-", "_"), 0
    for spellings, name, bits in _BULK:
        if any(spelling in upper for spelling in spellings):
            bulk, bulk_bits = name, bits
            break
    aead = protocol == "TLSv1.3" or "GCM" in upper or "POLY1305" in upper or "CCM" in upper
    # OpenSSL names AEAD suites by their PRF hash (…-GCM-SHA384); CBC suites by their HMAC
    # (…-SHA384, …-SHA for SHA-1).
    mac, mac_bits = "CALG_SHA_256", 256
    for suffix, name, bits in _HASHES:
        if upper.endswith(suffix):
            mac, mac_bits = name, bits
            break
    if aead:
        if mac == "CALG_SHA1":  # no AEAD suite has a SHA-1 PRF; TLS 1.2's PRF is SHA-256
            mac = "CALG_SHA_256"
        mac_bits = 0
    bits = group_bits(group)
    if protocol == "TLSv1.3":
        kx = "CALG_DH_EPHEM" if (group or "").lower().startswith("ffdhe") else "CALG_ECDHE"
    elif upper.startswith("ECDHE"):
        kx = "CALG_ECDHE"
    elif upper.startswith(("DHE", "EDH")):
        kx = "CALG_DH_EPHEM"
    else:
        kx, bits = "CALG_RSA_KEYX", rsa_key_bits
    return SchannelAlgorithms(version, bulk, bulk_bits, mac, mac_bits, kx, bits)


def _rsa_key_bits(connection: SSL.Connection, *, server_side: bool) -> int:
    # RSA key exchange encrypts to the server's key: the certificate this side or the peer sent.
    cert = connection.get_certificate() if server_side else connection.get_peer_certificate()
    return cert.get_pubkey().bits() if cert is not None else 0


def negotiated_description(connection: SSL.Connection, *, server_side: bool) -> str:
    """The protocol-log line Exchange writes after a handshake, in SCHANNEL's names (§17 C3).

    E.g. ``TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption
    algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with
    strength 0 bits and key exchange algorithm CALG_ECDHE with strength 256 bits``.
    """
    cipher = connection.get_cipher_name() or "UNKNOWN"
    return _success_line(
        connection.get_protocol_version_name(),
        cipher,
        connection.get_group_name(),
        (
            _rsa_key_bits(connection, server_side=server_side)
            if not cipher.upper().startswith(("ECDHE", "DHE", "EDH", "TLS_"))
            else 0
        ),
        server_side,
    )


@functools.lru_cache(maxsize=256)
def _success_line(
    protocol: str, cipher: str, group: str | None, rsa_key_bits: int, server_side: bool
) -> str:
    # A pure function of a few names; every session of a lab negotiates the same one or two.
    algorithms = schannel_algorithms(protocol, cipher, group=group, rsa_key_bits=rsa_key_bits)
    return algorithms.success_line(server_side=server_side)


@functools.lru_cache(maxsize=256)
def iana_cipher_name(openssl_name: str) -> str:
    """The IANA name of an OpenSSL cipher suite (``ECDHE-ECDSA-AES256-GCM-SHA384`` →
    ``TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384``); TLS 1.3 names are already IANA names."""
    if openssl_name.startswith("TLS_"):
        return openssl_name
    parts = openssl_name.split("-")
    kx: list[str] = []
    while parts and parts[0] in ("ECDHE", "DHE", "ECDSA", "RSA"):
        kx.append(parts.pop(0))
    if kx == ["ECDHE"] or kx == ["DHE"]:
        kx.append("RSA")
    bulk: list[str] = []
    for part in parts:
        if part.startswith("AES") and part[3:].isdigit():
            bulk += ["AES", part[3:]]
        elif part == "SHA":
            bulk.append("SHA")
        else:
            bulk.append(part)
    return "TLS_" + "_".join(kx or ["RSA"]) + "_WITH_" + "_".join(bulk)


def received_header_tls(connection: SSL.Connection) -> str:
    """The TLS part of Exchange's Received header: ``version=TLS1_2, cipher=TLS_ECDHE_…``."""
    version = _PROTOCOLS.get(connection.get_protocol_version_name(), "TLS1_2")
    cipher = connection.get_cipher_name() or ""
    return f"version={version}, cipher={iana_cipher_name(cipher)}"
