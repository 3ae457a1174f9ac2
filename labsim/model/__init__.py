"""Frozen records of the simulated world: organizations, servers, connectors, transport
configuration, mailboxes, messages and queue views. Pure: no Twisted, no I/O."""
