"""A lab that survives a crash: its state in SQLite (``labsim up --state DIR``).

Owns what a live lab keeps on disk and how it comes back: the configuration as typed (the
shell statements that changed it, replayed in order on the next start), the certificates and
keys the lab issued (so a thumbprint typed later still resolves), mailboxes, the messages in
the delivery queues, message tracking records, each server's
Application event log and the lab clock's offset.

:mod:`labsim.store.records` holds the pure decisions (what is configuration, how records are
encoded, duplicate keys); :mod:`labsim.store.database` is the thin SQLite edge (schema, WAL,
lock, explicit commit points); :class:`~labsim.store.hooks.MemoryOnly` is what a lab without
``--state`` uses: every hook does nothing.
"""
