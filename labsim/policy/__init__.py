"""Pure decisions of the simulated transport: who may do what, where mail goes, and why.

Modules (each a set of functions over frozen records from :mod:`labsim.model`; § numbers, D
decisions and C corrections cite docs/exchange-reference.md):

* :mod:`.permissions` — receive connector permission groups → session permissions (§3.5, D11).
* :mod:`.receive_selection` — which receive connector takes a connection (§5.1).
* :mod:`.routing` — categorizer and send connector selection on a Mailbox server (§4.1).
* :mod:`.domain_security` — outbound (§4.2–§4.4, D2, D5) and inbound (§5.3, D3, D11) checks,
  recipient and size rules (§10.2, §10.3).
* :mod:`.headers` — header firewall, authentication stamps, Received header (§5.4, §10.1).
* :mod:`.retry` — retry schedule, delay DSN, expiry and the queue LastError text (§4.5, D7, D8).
* :mod:`.ndr` — RFC 3464 delivery status notifications in Exchange's wording (§4.5, S11).
* :mod:`.loops` — a message's hop count and the receive connector's MaxHopCount check.
* :mod:`.events` and :mod:`.texts` — event ids, protocol-log notes and reply texts used above.

Rules kept by every module here: standard library plus ``labsim.model``, ``labsim.pki`` and
``labsim.smtp`` only (never Twisted or pyOpenSSL); no clock reads (times are parameters); every
decision returns a frozen record carrying an ``explanation`` that cites the reference section,
so ``labsim run --explain`` can print why. Section numbers (§) refer to
``reference/exchange-domain-security.md``.
"""
