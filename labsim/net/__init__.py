"""The lab network: listening and connecting by simulated address, and the lab DNS zone.

The engine only sees :class:`labsim.net.loopback.Network`; the loopback implementation is the
only one today (docs/exchange-reference.md §16 D12), and an in-memory network can be added beside it
later.
"""
