"""Handshakes over memory BIOs for the TLS tests: no sockets, no reactor, no clock."""

from __future__ import annotations

from OpenSSL import SSL


def complete_handshake(
    server: SSL.Connection, client: SSL.Connection
) -> tuple[SSL.Connection, SSL.Connection]:
    """Drive ``server`` (accept state) and ``client`` (connect state) through a whole handshake,
    moving bytes between their memory BIOs; return (server, client)."""
    server.set_accept_state()
    client.set_connect_state()
    done = {id(server): False, id(client): False}
    for _ in range(50):
        for conn in (client, server):
            if not done[id(conn)]:
                try:
                    conn.do_handshake()
                    done[id(conn)] = True
                except SSL.WantReadError:
                    pass
        moved = False
        for source, target in ((client, server), (server, client)):
            try:
                data = source.bio_read(65536)
            except SSL.WantReadError:
                continue
            target.bio_write(data)
            moved = True
        if all(done.values()) and not moved:
            return server, client
    raise AssertionError("handshake did not complete")
