"""The running lab: SMTP adapters over the sans-io core, TLS, transport services and queues.

Above the Twisted line: this package moves bytes and timers; every decision it acts on comes
from ``labsim.policy`` (pure functions over the records in ``labsim.model``).
"""
