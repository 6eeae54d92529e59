"""The stage runner: one loop for every stage that turns events of one stream into keyed events of another.

A stage says which stream it reads and which it writes, and turns one input event into the drafts to append
(`handle`). The runner finds where the stage stopped from what the stage already wrote (`recover`: the stage reads
the keys of its own outputs through the store API, so no checkpoint file is needed), reads or follows the input from
there, and appends what the stage returns in batches. Outputs are keyed, so a crash between a handle and its append
is finished by the next start and never doubled. See docs/ARCHITECTURE.md, "Stages".

    runner = StageRunner(store, ParseStage(...))
    runner.recover()            # position from the stage's outputs
    runner.catch_up(stop)       # everything appended since (a start-up backlog, `autosig reprocess`)
    runner.process(events)      # events the caller already holds (the worker's own fresh raw events)
    runner.follow(stop)         # or: follow the input until stop is set, with the stage's timers (the executor)
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence

from autosig.events import Event, EventStore
from autosig.schema import Draft

DEFAULT_BATCH = 5000


class Stage(ABC):
    """What a stage declares; the runner does the rest."""

    name: str = "stage"
    input: str  # the stream it follows
    output: str  # the stream it appends to
    # More streams it consults while handling (read through the store, never followed); for the record and the docs.
    reads: tuple[str, ...] = ()
    # How often tick() is called while following, or None for a stage without timers.
    tick_seconds: float | None = None

    @abstractmethod
    def output_key(self, event: Event) -> str | None:
        """The key of the (first) output for this input event; None when the event produces none."""

    @abstractmethod
    def recover(self, store: EventStore) -> int:
        """Where to start: the seq of the input after which nothing is known to be handled, from the stage's own
        outputs (store.keys). May also load what the stage needs to know of its past."""

    @abstractmethod
    def handle(self, event: Event) -> Sequence[Draft]:
        """The drafts to append for one input event, in order (empty for an event the stage has nothing to say
        about). Must not raise for bad input: a stranger's text never stops a stage."""

    def tick(self) -> Sequence[Draft]:
        """Drafts due by time alone (timeouts, periodic checks); called about every tick_seconds while following."""
        return ()

    def appended(self, events: list[Event]) -> None:  # noqa: B027 - optional
        """Told what the last batch of drafts became (their seqs); a stage keeping state of its own outputs uses it."""


class StageRunner:
    """Runs one stage against one store. `stopping()` is consulted between events, so SIGTERM never waits for a
    backlog; `batch` bounds how many drafts one append carries (one lock, one fsync)."""

    def __init__(
        self,
        store: EventStore,
        stage: Stage,
        *,
        batch: int = DEFAULT_BATCH,
        stopping: Callable[[], bool] = lambda: False,
        on_problem: Callable[[object], None] | None = None,
    ) -> None:
        self.store = store
        self.stage = stage
        self.batch = max(1, batch)
        self.stopping = stopping
        self.on_problem = on_problem or (lambda problem: None)
        self.position = 0  # the last input seq handled

    def recover(self) -> int:
        self.position = self.stage.recover(self.store)
        return self.position

    def process(self, events: Iterable[Event], *, keep_from: int | None = None) -> int:
        """Handles `events` (input events in seq order; those at or before the position are skipped) and appends the
        outputs in batches. The position moves past an event only once its outputs are appended, so a failed append
        (disk full, database down) leaves it to the next try. A stop request ends it between two events, except that
        events with seq >= keep_from are always handled (the worker's own fresh alerts: a stopped worker leaves none
        of its own unparsed). Returns how many input events were handled."""
        handled = 0
        pending: list[Draft] = []
        through = self.position
        try:
            for event in events:
                if event.seq <= through:
                    continue
                if self.stopping() and (keep_from is None or event.seq < keep_from):
                    raise _Stop
                pending.extend(self.stage.handle(event))
                through = event.seq
                handled += 1
                if len(pending) >= self.batch:
                    self._append(pending)
                    self.position = through
        except _Stop:
            pass
        self._append(pending)
        self.position = through
        return handled

    def catch_up(self, *, keep_from: int | None = None, before_chunk: Callable[[], None] | None = None) -> int:
        """Handles every input event after the position, reading the input in chunks (a start-up backlog of a
        million events is never held at once); `before_chunk` runs before each chunk after the first (the worker
        renews its lease there). Returns how many were handled."""
        total, first = 0, True
        while True:
            if not first and before_chunk is not None:
                before_chunk()
            first = False
            chunk = list(self.store.read(self.stage.input, after=self.position, limit=self.batch,
                                         on_problem=self.on_problem))  # fmt: skip
            if not chunk:
                break
            before = self.position
            total += self.process(chunk, keep_from=keep_from)
            if len(chunk) < self.batch or self.position < chunk[-1].seq:
                break  # the end of the input, or stopped part-way
            if self.position == before:
                break
        return total

    def follow(self, stop: threading.Event) -> None:
        """Follows the input from the position until `stop` is set: each input event is handled and its outputs
        appended before the next (a stage whose outputs must be durable before it acts, such as the executor, relies
        on this), and tick() runs about every tick_seconds. Raises StageReset when the input was replaced."""
        arrivals: queue.Queue[Event] = queue.Queue(maxsize=10_000)
        reset = threading.Event()
        done = threading.Event()  # ends the tail thread when this loop ends, whatever ended it

        def tail() -> None:
            for event in self.store.tail(self.stage.input, after=self.position, stop=done,
                                         on_problem=self.on_problem, on_reset=reset.set):  # fmt: skip
                while not done.is_set():
                    try:
                        arrivals.put(event, timeout=0.2)
                        break
                    except queue.Full:
                        continue

        follower = threading.Thread(target=tail, name=f"{self.stage.name}-tail", daemon=True)
        follower.start()
        interval = self.stage.tick_seconds
        next_tick = time.monotonic()
        try:
            while not stop.is_set() and follower.is_alive():
                try:
                    event: Event | None = arrivals.get(timeout=min(interval or 0.5, 0.5))
                except queue.Empty:
                    event = None
                if reset.is_set():
                    raise StageReset(f"the {self.stage.input} stream was replaced under the {self.stage.name} stage")
                if event is not None and event.seq > self.position:
                    self.process([event])
                if interval is not None and time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + interval
                    self._append(list(self.stage.tick()))
        finally:
            done.set()
            follower.join(5)

    def tick(self) -> None:
        """Runs the stage's timers once and appends what they produce."""
        self._append(list(self.stage.tick()))

    def _append(self, pending: list[Draft]) -> None:
        if not pending:
            return
        drafts = pending[:]
        pending.clear()
        events = self.store.append_many(self.stage.output, drafts)
        self.stage.appended(events)


class _Stop(Exception):
    pass


class StageReset(Exception):
    """The followed stream was replaced or cut (a restore): the stage must recover again from its outputs."""
