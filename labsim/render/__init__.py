"""Drawing the lab: plain records built from what a lab recorded, and text (SVG, HTML) made
from them. Shared by ``labsim run --html`` and the web console.

Pure: no Twisted import. The builders read a running :class:`labsim.lab.Lab` through its plain
attributes (configuration records, session records, tracking records, mailboxes, queues);
everything else here takes records and returns ``str``. Every text that came from mail
(subjects, addresses, EHLO names, replies) is attacker-controlled and is escaped where it is
written into markup (:mod:`labsim.render.html`).

Modules: :mod:`~labsim.render.paths` (each message's path hop by hop),
:mod:`~labsim.render.topology` (organizations, servers, certificates, connectors and the
forecast per pair of organizations), :mod:`~labsim.render.sequence` (a message's sequence
diagram), :mod:`~labsim.render.html` (escaping and the page shell),
:mod:`~labsim.render.report` (the HTML report of a scenario run).
"""
