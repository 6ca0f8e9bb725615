"""A release is protected with Python's cyclic garbage collector paused (issue 7): the engine's
witnesses are millions of small objects that live as long as the release's models and make next
to no cycles, so each full collection walked them all and freed almost nothing. The pause ends
with one collection, holds across the threads that protect a release's tables side by side, and
leaves alone a collector its caller had turned off."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from benchmarks.national_service import cells_of_release, participants_of, scenario
from transforms.memory import cyclic_collector_paused
from transforms.privacy import resolve
from transforms.release import protect_release


@pytest.fixture
def collections_run() -> Iterator[list[int]]:
    """The generation of every collection that starts while the test runs."""
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield started
    finally:
        gc.callbacks.remove(note)


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was_on:
            gc.disable()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_release_is_protected_with_no_collection_until_one_after(
    collections_run: list[int],
) -> None:
    """Two releases of three regions (outcome tables and participation, on two threads):
    without the pause the collector also ran while they were being protected."""
    cells = scenario(2, 3)
    history = None
    audit = None
    for number in (1, 2):
        now = cells_of_release(cells, number)
        collections_run.clear()
        protected = protect_release(
            now,
            participants_of(now),
            resolve("gmc-sdc"),
            release_no=number,
            history=history,
            previous_audit=audit,
        )
        assert collections_run == [2], f"release {number}: one full collection, after"
        assert gc.isenabled()
        history, audit = protected.figures, protected.audit


def test_overlapping_pauses_on_threads_resume_the_collector_after_the_last() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with cyclic_collector_paused():
            first_in.set()
            second_in.wait()
        first_out.set()

    def second() -> None:
        first_in.wait()
        with cyclic_collector_paused():
            second_in.set()
            first_out.wait()
            seen["after the first left"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"after the first left": False}
    assert gc.isenabled()


def test_a_cycle_made_during_the_pause_outlives_it_and_is_collected_when_it_ends() -> None:
    with cyclic_collector_paused():
        cycle = Node()
        cycle.other = cycle
        left = weakref.ref(cycle)
        del cycle
        made = [[] for _ in range(100_000)]  # enough new objects for many collections
        assert left() is not None, "no collection ran during the pause"
        del made
    assert left() is None


def test_a_collector_its_caller_turned_off_stays_off(collections_run: list[int]) -> None:
    gc.disable()
    with cyclic_collector_paused():
        pass
    assert not gc.isenabled()
    assert collections_run == []
