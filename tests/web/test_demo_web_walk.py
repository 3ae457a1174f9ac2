"""``labsim.demo_web.WebDemo`` over several chapters, in this process on real labs (no browser,
no console): Next opens each chapter once and only when the one before is over, Auto goes on
across chapters, and a chapter whose lab does not start ends the demo with a ✘."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from labsim.demo_story import chapters
from labsim.demo_web import WebDemo
from labsim.errors import ConfigError
from labsim.lab import Lab


class Timer:
    """A timer the test fires by hand (the reactor's callLater stand-in)."""

    def __init__(self, call: Callable[[], None]) -> None:
        self.call = call
        self.cancelled = False
        self.fired = False

    def active(self) -> bool:
        return not (self.cancelled or self.fired)

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        self.fired = True
        self.call()


class Walk:
    """Three copies of the shortest trap, each chapter on a fresh lab; the third lab fails."""

    def __init__(self, tmp: Path, *, auto: float | None = None) -> None:
        (self.chapter,) = chapters("mutual-tls-light")
        self.tmp = tmp
        self.labs = [Lab.start(self.chapter.lab, cert_folder=tmp)]
        self.opened = 0
        self.lines: list[str] = []
        self.queued: list[Callable[[], None]] = []
        self.timers: list[Timer] = []
        self.demo = WebDemo(
            (self.chapter,) * 3,
            self.labs[0],
            echo=self.lines.append,
            queue=self.queued.append,
            call_later=self.call_later,
            open_lab=self.open_lab,
            auto=auto,
        )

    def call_later(self, seconds: float, call: Callable[[], None]) -> Any:
        timer = Timer(call)
        self.timers.append(timer)
        return timer

    def open_lab(self, chapter: Any) -> Lab:
        self.opened += 1
        if self.opened == 2:
            raise ConfigError("cannot bind the lab's sockets (the test's refusal)")
        self.labs[-1].stop()
        self.labs.append(Lab.start(chapter.lab, cert_folder=self.tmp))
        return self.labs[-1]

    def run_queued(self) -> None:
        while self.queued:
            self.queued.pop(0)()

    def close(self) -> None:
        self.labs[-1].stop()


def states(demo: WebDemo) -> list[str]:
    return [entry.state for entry in demo.contents()]


def test_next_opens_each_chapter_once_and_a_lab_that_does_not_start_ends_the_demo(
    tmp_path: Path,
) -> None:
    walk = Walk(tmp_path)
    demo = walk.demo
    try:
        assert "not next" in demo.run_next(2, 0)  # chapter 1 is not over: nothing opens
        for number in (1, 2, 3):
            assert demo.run_next(1, number).startswith(f"step {number}/3 · ")
        assert demo.chapter_finished and not demo.finished
        assert states(demo) == ["done", "to come", "to come"]
        assert "not next" in demo.run_next(1, 3)  # a stale page runs nothing
        assert demo.run_next(2, 0).startswith("chapter 2/3 · ")
        assert "nothing was run twice" in demo.run_next(2, 0)  # a double click
        assert walk.opened == 1 and demo.lab is walk.labs[1] and demo.chapter_number == 2
        assert states(demo) == ["done", "current", "to come"]
        assert demo.shown == [] and demo.next_number == 1
        for number in (1, 2, 3):
            demo.run_next(2, number)
        assert demo.passed
        said = demo.run_next(3, 0)
        assert "chapter 3's lab did not start: cannot bind" in said
        assert demo.finished and not demo.passed
        assert demo.run_next(3, 0) == "the demo is over; the lab stays up for the other views"
        assert "labsim demo: ✘ chapter 3's lab did not start: cannot bind" in walk.lines[-1]
    finally:
        walk.close()


def test_auto_goes_on_across_chapters(tmp_path: Path) -> None:
    walk = Walk(tmp_path, auto=2.0)
    demo = walk.demo
    try:
        demo.start()
        for _ in range(4):  # three steps, then the next chapter, each one interval apart
            live = [t for t in walk.timers if t.active()]
            assert len(live) == 1
            live[0].fire()
            walk.run_queued()
        assert demo.chapter_number == 2 and demo.shown == []
        assert any(line.startswith("chapter 2/3 · ") for line in walk.lines)
        live = [t for t in walk.timers if t.active()]
        assert len(live) == 1  # and on it goes, into chapter 2's first step
        demo.set_auto(False)
        assert not any(t.active() for t in walk.timers)
    finally:
        walk.close()


def test_a_stopped_chapters_queued_message_never_lands_in_the_next_chapters_lab(
    tmp_path: Path,
) -> None:
    from labsim.model.lab import default_lab
    from labsim.reactor import drive

    # Chapter 1 ends with a message in Adatum's queue, in Retry (TreyResearch refuses it).
    old = Lab.start(default_lab(), cert_folder=tmp_path)
    old.run_shell(
        "Adatum",
        "New-SendConnector -Name Internet -Internet -AddressSpaces * "
        "-SourceTransportServers ADATUM-MBX1",
    )
    old.run_shell("TreyResearch", "Set-TransportConfig -TLSReceiveDomainSecureList adatum.com")
    old.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="chapter 1")
    assert [q.message_count for q in old.queues("Adatum") if q.identity.endswith("\\1")] == [1]
    offset = old.world.network.port_offset
    old.stop()
    # Chapter 2's fresh lab on the same addresses and ports would take the message.
    new = Lab.start(default_lab(), cert_folder=tmp_path, port_offset=offset)
    try:
        # The old queue's retry comes due (as it would in real time while chapter 2 runs).
        old.world.clock.jump_to(old.world.clock.seconds() + 3600)
        assert drive(
            new.world.reactor,
            lambda: (
                not old.world.clock.has_due()
                and old.world.activity.idle
                and new.world.activity.idle
            ),
            bound=30,
        )
        assert not new.inbox("ben@treyresearch.net")
    finally:
        new.stop()
