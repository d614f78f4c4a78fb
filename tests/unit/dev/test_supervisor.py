"""scrm up's supervisor starts again a process that exited, with back-off."""

from __future__ import annotations

from pathlib import Path

from scrm_dev.launcher import ServiceProcess, Supervisor


class Fake(ServiceProcess):
    def __init__(self, name: str) -> None:
        super().__init__(name, 1, {}, Path("/dev/null"))
        self.alive = True
        self.starts = 0
        self.code: int | None = None

    def start(self) -> None:
        self.starts += 1
        self.alive = True

    def running(self) -> bool:
        return self.alive

    @property
    def pid(self) -> int | None:
        return 100 + self.starts

    @property
    def returncode(self) -> int | None:
        return None if self.alive else 75


def test_an_exited_process_is_started_again_after_its_delay_and_the_delay_doubles() -> None:
    worker, api = Fake("members-worker"), Fake("members-api")
    seen: list[tuple[str, int | None]] = []
    supervisor = Supervisor(
        lambda: [worker, api], first_delay=1, max_delay=4, on_restart=lambda p, code: seen.append((p.name, code))
    )
    assert supervisor.tick(now=0) == []
    worker.alive = False
    assert supervisor.tick(now=10) == []  # just seen down: waits its delay
    assert supervisor.tick(now=11) == ["members-worker"]
    assert worker.starts == 1 and seen == [("members-worker", 75)]
    worker.alive = False  # dies young again: twice the delay
    assert supervisor.tick(now=12) == []
    assert supervisor.tick(now=13) == []
    assert supervisor.tick(now=14) == ["members-worker"]
    assert supervisor.restarts == {"members-worker": 2}
    assert supervisor.tick(now=100) == []  # it lived a while: back-off forgotten
    worker.alive = False
    supervisor.tick(now=101)
    assert supervisor.tick(now=102) == ["members-worker"]


def test_a_process_never_started_is_left_alone() -> None:
    class Never(Fake):
        @property
        def pid(self) -> int | None:
            return None

    never = Never("console")
    never.alive = False
    supervisor = Supervisor(lambda: [never], first_delay=0)
    assert supervisor.tick(now=0) == [] and supervisor.tick(now=5) == []
