"""The control channel of a live lab: how shells and scripts reach a running ``labsim up``.

One Unix socket per lab, in the user's state folder (mode 0700; the socket 0600), speaking one
JSON object per line each way: a request ``{"op": ..., ...}`` and its reply ``{"ok": true, ...}``
or ``{"ok": false, "error": "..."}``. Only the user who started the lab may use it: the folder
and socket modes keep other users out, and the server also checks the peer's uid
(``SO_PEERCRED``), which holds even against root.

The server side is a thin Twisted edge: it parses lines and queues requests; the live lab's
main loop answers them between reactor turns (:meth:`ControlServer.process_pending`), never
from inside a Twisted callback, because answering a shell line drives the reactor itself.
The client side is plain blocking sockets, with no Twisted, so a prompt can run in a thread or
in another process.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineOnlyReceiver

from labsim.errors import LabsimError, UsageError

STATE_ENVIRONMENT_VARIABLE = "LABSIM_STATE_DIR"
MAX_REQUEST_BYTES = 1_000_000
_UNIX_PATH_MAX = 107  # sun_path is 108 bytes with its terminating NUL

Request = dict[str, Any]
Reply = dict[str, Any]


_log = Logger()


class ControlError(LabsimError):
    """A control request the lab cannot answer (bad JSON, unknown op, missing field)."""


class RequestRefused(UsageError):
    """The lab answered a request with ``{"ok": false, "error": ...}``; it goes on serving."""


def state_folder(environ: dict[str, str] | None = None) -> Path:
    """Where this user's live labs keep their control sockets and ready files."""
    env = os.environ if environ is None else environ
    if env.get(STATE_ENVIRONMENT_VARIABLE):
        return Path(env[STATE_ENVIRONMENT_VARIABLE])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "labsim"
    return Path("/tmp") / f"labsim-{os.getuid()}"


def prepare_state_folder(folder: Path) -> Path:
    """Create the folder with mode 0700, or check that an existing one is ours and private."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError as err:
        raise UsageError(
            f"state folder {folder}: cannot create it ({err.strerror}); set "
            f"{STATE_ENVIRONMENT_VARIABLE} to a folder you can write"
        ) from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise UsageError(
            f"state folder {folder} is not a folder of this user (uid {os.getuid()}); set "
            f"{STATE_ENVIRONMENT_VARIABLE} to a folder of your own"
        )
    if info.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def control_path(folder: Path, lab_name: str, pid: int) -> Path:
    """The socket of one lab: ``<folder>/<lab>-<pid>.sock``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in lab_name) or "lab"
    path = folder / f"{safe}-{pid}.sock"
    if len(os.fsencode(path)) > _UNIX_PATH_MAX:
        raise UsageError(
            f"control socket path {path} is longer than the {_UNIX_PATH_MAX} bytes a Unix socket "
            f"allows; set {STATE_ENVIRONMENT_VARIABLE} to a shorter folder, e.g. /tmp/labsim"
        )
    return path


# --- the wire format (pure) ------------------------------------------------------------------


def encode(message: Reply | Request) -> bytes:
    """One JSON object on one line."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode_request(line: bytes) -> Request:
    """Parse one request line, or raise ControlError saying what is wrong and how to fix it."""
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ControlError(
            f"control request is not JSON ({err}); send one JSON object per line, "
            'e.g. {"op": "hello"}'
        ) from None
    if not isinstance(value, dict) or not isinstance(value.get("op"), str):
        raise ControlError(
            'control request must be a JSON object with a string "op", e.g. {"op": "hello"}'
        )
    return value


def failure(message: str) -> Reply:
    """The reply to a request that could not be answered."""
    return {"ok": False, "error": message}


# --- server (Twisted edge) -------------------------------------------------------------------


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (Linux), or None."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    data = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", data)
    return int(uid)


class ControlProtocol(LineOnlyReceiver):
    """One attached client: lines in, queued; replies written by the main loop."""

    delimiter = b"\n"
    MAX_LENGTH = MAX_REQUEST_BYTES

    factory: ControlFactory

    @property
    def _stream(self) -> Any:
        # Twisted's transport attribute is typed Optional[ITransport]; a connected protocol
        # always has one.
        return self.transport

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        """Refuse a peer that is another user (root included)."""
        uid = peer_uid(self._stream.socket)
        if uid is not None and uid != os.getuid():
            self.reply(
                failure(
                    f"this lab's control channel belongs to uid {os.getuid()}; uid {uid} may "
                    "not use it: attach as the user who started the lab"
                )
            )
            self._stream.loseConnection()
            return
        self.factory.server.clients.add(self)

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        """Forget the client, its unanswered requests and its shell session."""
        self.factory.server.clients.discard(self)
        self.factory.server.client_gone(self)

    def lineReceived(self, line: bytes) -> None:  # noqa: N802
        """Queue the request for the main loop."""
        if line.strip():
            self.factory.server.queue.append((self, line))

    def lineLengthExceeded(self, line: bytes) -> None:  # noqa: N802
        """A request over the limit: say so and close this client only."""
        self.reply(failure(f"control request longer than {MAX_REQUEST_BYTES} bytes; refused"))
        self._stream.loseConnection()

    def reply(self, message: Reply) -> None:
        """Write one reply line."""
        self._stream.write(encode(message))


class ControlFactory(Factory):
    """Builds a ControlProtocol per client."""

    protocol = ControlProtocol  # type: ignore[assignment]

    def __init__(self, server: ControlServer) -> None:
        self.server = server


class ControlServer:
    """The listening socket and the queue of requests not yet answered."""

    def __init__(
        self,
        reactor: Any,
        path: Path,
        handler: Callable[[Request, object], Reply],
        *,
        on_client_gone: Callable[[object], None] | None = None,
    ) -> None:
        self.reactor = reactor
        self.path = path
        self.handler = handler
        """Answers ``(request, client)``; ``client`` is the same object for every request of one
        connection (an attached shell keeps its variables across lines), None for a request
        answered outside a connection."""
        self.on_client_gone = on_client_gone
        self.queue: deque[tuple[ControlProtocol, bytes]] = deque()
        self.clients: set[ControlProtocol] = set()
        self._port: Any = None

    def start(self) -> None:
        """Listen; a stale socket of a dead lab is replaced, a live one refused."""
        if self.path.exists():
            if is_alive(self.path):
                raise UsageError(f"control socket {self.path} is in use by a running lab")
            self.path.unlink()
        old_umask = os.umask(
            0o177
        )  # the socket is created 0600: no window where others can open it
        try:
            self._port = self.reactor.listenUNIX(
                str(self.path), ControlFactory(self), mode=0o600, wantPID=False
            )
        finally:
            os.umask(old_umask)

    def process_pending(self) -> int:
        """Answer every queued request, in arrival order; return how many were answered."""
        answered = 0
        while self.queue:
            client, line = self.queue.popleft()
            client.reply(self.answer(line, client))
            answered += 1
        return answered

    def client_gone(self, client: object) -> None:
        """A connection closed: whatever the handler kept for it can go."""
        if self.on_client_gone is not None:
            self.on_client_gone(client)

    def answer(self, line: bytes, client: object = None) -> Reply:
        """One request to one reply; a bug in labsim is reported, and the lab keeps serving."""
        try:
            return self.handler(decode_request(line), client)
        except LabsimError as err:
            return failure(str(err))
        except Exception as err:
            # An engine exception is a bug: recorded as a Twisted failure (printed in full on
            # the lab's terminal; the suite fails any test that logs one), one line to the
            # client; the lab goes on serving everyone else.
            _log.failure("labsim bug while answering a control request")
            return failure(
                f"internal error (a labsim bug) while answering this line: {err!r}; the lab's "
                "output shows the traceback, please report it. The lab goes on serving."
            )

    def stop(self) -> None:
        """Close the socket and every client; remove the socket file."""
        for client in list(self.clients):
            client._stream.loseConnection()
        if self._port is not None:
            # Twisted removes the socket file itself once the port is closed (next turn).
            self._port.stopListening()
            self._port = None


# --- client (no Twisted) ---------------------------------------------------------------------


def is_alive(path: Path) -> bool:
    """Whether a lab answers on this socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            probe.connect(str(path))
    except OSError as err:
        return err.errno in (errno.EACCES, errno.EPERM)  # alive, but not ours
    return True


class ControlClient:
    """A blocking connection to a live lab's control channel."""

    def __init__(self, path: Path, timeout: float | None = None) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(path))
        except OSError as err:
            self._sock.close()
            raise UsageError(_connect_error(path, err)) from None
        self._reader = self._sock.makefile("rb")

    def request(self, op: str, **fields: Any) -> Reply:
        """Send one request; return its reply (raise UsageError if the lab refused it)."""
        reply = self.raw(encode({"op": op, **fields}))
        if not reply.get("ok"):
            raise RequestRefused(str(reply.get("error", "the lab refused the request")))
        return reply

    def raw(self, data: bytes) -> Reply:
        """Send bytes as they are; return the reply line parsed."""
        try:
            self._sock.sendall(data)
            line = self._reader.readline(MAX_REQUEST_BYTES * 8)
        except OSError as err:
            raise UsageError(f"control channel {self.path}: {err.strerror or err}") from None
        if not line:
            raise UsageError(
                f"control channel {self.path}: the lab closed the connection (it stopped, or "
                "refused this client)"
            )
        try:
            value = json.loads(line.decode("utf-8"))
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise UsageError(
                f"control channel {self.path}: unexpected reply {line[:80]!r}; is this the "
                "control socket of a labsim lab? Give the one labsim up printed"
            )
        return value

    def close(self) -> None:
        """Close the connection."""
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect_error(path: Path, err: OSError) -> str:
    if err.errno in (errno.EACCES, errno.EPERM):
        return (
            f"control channel {path}: permission denied; it belongs to another user's lab: "
            "attach as the user who started it, or start your own with labsim up"
        )
    if err.errno in (errno.ENOENT, errno.ECONNREFUSED):
        return f"control channel {path}: no lab is running there; start one with labsim up"
    return f"control channel {path}: {err.strerror or err}"


@dataclass(frozen=True)
class RunningLab:
    """A live lab found in the state folder."""

    name: str
    pid: int
    control: Path
    info: dict[str, Any]


def running_labs(folder: Path) -> list[RunningLab]:
    """The labs of this user that answer on their control socket (stale files are removed)."""
    found: list[RunningLab] = []
    if not folder.is_dir():
        return found
    for info_path in sorted(folder.glob("*.json")):
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            control = Path(info["control"])
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not is_alive(control):
            with contextlib.suppress(OSError):
                info_path.unlink()
            with contextlib.suppress(OSError):
                control.unlink()
            continue
        found.append(RunningLab(str(info.get("lab", "?")), pid, control, info))
    return found


def find_control(target: str | None, folder: Path) -> Path:
    """The control socket to attach to: the one named, or the one lab this user runs."""
    if target:
        path = Path(target)
        try:
            ready_file = path.is_file()
        except OSError:  # a socket in another user's folder: the connect reports it
            ready_file = False
        if ready_file:
            # A ready file (a regular file, whatever its name; the control channel is a
            # socket): its "control" entry says where the lab listens.
            try:
                path = Path(json.loads(path.read_text(encoding="utf-8"))["control"])
            except (OSError, ValueError, KeyError, TypeError):
                raise UsageError(
                    f'--attach {target}: not a labsim ready file (no "control" entry); give '
                    "the file labsim up wrote with --ready-file, or the control socket it printed"
                ) from None
        return path
    labs = running_labs(folder)
    if not labs:
        raise UsageError(
            f"no running lab of this user in {folder}; start one with labsim up (or give "
            "--attach CONTROL as printed by labsim up)"
        )
    if len(labs) > 1:
        listed = "; ".join(f"{lab.name} (pid {lab.pid}): {lab.control}" for lab in labs)
        raise UsageError(
            f"{len(labs)} labs are running; choose one with --attach CONTROL: {listed}"
        )
    return labs[0].control
