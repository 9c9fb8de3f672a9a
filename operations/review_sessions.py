"""The review page's memory of each browser tab: the item shown, the next one already fetched,
answers waiting out their undo window, and what happened to the last few.

Every queue and ground-truth step is the Reviewer's (`operations.reviewing`); a session only
decides when. It fetches the next item while the person looks at the current one; keeps every
item it holds held while the tab is open; carries out an answer only when its undo window
closes, and only while the item is still held (a message sent to a FIFO queue again within its
5-minute deduplication window is dropped, so an undone answer must be one never carried out);
gives a skipped item back with a delay, so that its own prefetch does not take it straight
back; and gives back everything it holds when the tab closes or stops polling.
"""

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from operations.errors import HoldExpired, ImageNotFound, OperationError, WaitingMarkerLeft
from operations.reviewing import LABELS, Held, Reviewer, ReviewItem, Unreadable

DISCARD = "discard"  # instead of a label: a message that is not ours, or an image that is gone
AWS_ERRORS = (OperationError, ClientError, BotoCoreError)
NOTICES_SHOWN = 4
DONE = {"saved", "already", "recorded"}  # notices of items that left the queue
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """How long things last. Tests shorten them; the defaults are a person's."""

    hold_seconds: int = 300  # each hold, renewed while the tab is open
    undo_seconds: float = 10.0  # an answer is carried out this long after the key press
    skip_delay_seconds: int = 60  # a skipped item stays hidden this long, from everyone
    idle_seconds: float = 300.0  # a tab silent this long is closed (a hidden tab polls slowly)
    tick_seconds: float = 2.0  # how often holds are renewed and silent tabs looked for
    poll_seconds: float = 2.0  # how often the page asks for news (told to the page)

    @property
    def renew_after_seconds(self) -> float:
        """A hold is renewed once a third of it has passed: two more chances before it ends."""
        return self.hold_seconds / 3


class StaleAction(Exception):
    """The action names an item the session no longer shows (a second press, another tab)."""


class NotAllowed(Exception):
    """The action does not apply to what is shown (a label for an unreadable message...)."""


@dataclass(eq=False)
class Slot:
    """One item this session holds. Every call on its hold goes through `lock`, and none after
    it was released (answered, discarded, given back), so a renewal can never undo a skip."""

    held: Held
    kept_at: float
    shown_at: float | None = None
    seconds_before: float = 0.0  # time spent on it before an undo brought it back
    lost: bool = False  # its hold ran out: another reviewer may have it
    unavailable: str | None = None  # why its image could not be read (ImageNotFound): gone
    released: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def message_id(self) -> str:
        return self.held.message_id

    @property
    def content(self) -> ReviewItem | Unreadable:
        return self.held.content


@dataclass(eq=False)
class Pending:
    """An answer (a label, or DISCARD) inside its undo window."""

    slot: Slot
    action: str
    answered_at: datetime
    seconds_spent: float
    deadline: float
    timer: threading.Timer | None = None


@dataclass(frozen=True)
class Notice:
    """What became of an answer, or of a step that failed, for the page to say."""

    kind: str  # saved, already, recorded (with a warning), lost, failed
    text: str
    at: datetime


@dataclass(frozen=True)
class PendingView:
    name: str
    action: str
    seconds_left: float


@dataclass(frozen=True)
class SessionView:
    """A session at one moment: what is shown, what comes next, what waits, what happened."""

    current: Slot | None
    upcoming: Slot | None
    pending: tuple[PendingView, ...]
    notices: tuple[Notice, ...]
    done: int


def name_of(slot: Slot) -> str:
    """How the page names an item: its key, or the message id of one that is not ours."""
    if isinstance(slot.content, ReviewItem):
        return slot.content.s3_key
    return f"message {slot.message_id}"


class Session:
    """One browser tab's items. Public methods are safe from any thread."""

    def __init__(self, reviewer: Reviewer, settings: Settings, clock: Callable[[], float]):
        self.id = secrets.token_urlsafe(16)
        self.reviewer = reviewer
        self.settings = settings
        self.clock = clock
        self.current: Slot | None = None
        self.upcoming: deque[Slot] = deque()
        self.pending: list[Pending] = []
        self.notices: deque[Notice] = deque(maxlen=NOTICES_SHOWN)
        self.done = 0
        self.closed = False
        self.last_seen = clock()
        self._fetching = False
        self._lock = threading.RLock()

    # What the page asks for.

    def start(self) -> None:
        """Show the first item (fetched now) and fetch the next one meanwhile."""
        with self._lock:
            self._advance()
        self._fetch_soon()

    def touch(self) -> None:
        """The page spoke: it is still open."""
        self.last_seen = self.clock()

    def poll(self) -> None:
        """The page asks for news. With nothing shown, look for a new item."""
        with self._lock:
            if self.current is None and self.upcoming:
                self._advance()
        self._fetch_soon()

    def view(self) -> "SessionView":
        """What the page shows, as it is now."""
        now = self.clock()
        with self._lock:
            pending = tuple(
                PendingView(name_of(p.slot), p.action, max(0.0, p.deadline - now))
                for p in self.pending
            )
            upcoming = self.upcoming[0] if self.upcoming else None
            return SessionView(self.current, upcoming, pending, tuple(self.notices), self.done)

    def answer(self, message_id: str, action: str) -> None:
        """Label (or discard) the item shown; it is carried out when the undo window closes."""
        with self._lock:
            slot = self._shown(message_id)
            self._check_allowed(slot, action)
            now = self.clock()
            spent = slot.seconds_before + now - (slot.shown_at or now)
            pending = Pending(
                slot, action, datetime.now(UTC), spent, now + self.settings.undo_seconds
            )
            pending.timer = threading.Timer(self.settings.undo_seconds, self._commit, [pending])
            pending.timer.daemon = True
            self.pending.append(pending)
            pending.timer.start()
            self._advance()
        self._fetch_soon()

    def skip(self, message_id: str) -> None:
        """Give the item shown back, hidden for a while, and show the next."""
        with self._lock:
            slot = self._shown(message_id)
            self._advance()
        self._give_back(slot, self.settings.skip_delay_seconds)
        self._fetch_soon()

    def undo(self) -> None:
        """Take back the latest answer still in its window: it is shown again, as it was."""
        with self._lock:
            if not self.pending:
                raise NotAllowed("no answer to undo: the last one is already carried out")
            pending = self.pending.pop()
            if pending.timer:
                pending.timer.cancel()
            if self.current is not None:
                self.upcoming.appendleft(self.current)
            pending.slot.seconds_before = pending.seconds_spent
            pending.slot.shown_at = self.clock()
            self.current = pending.slot

    def next(self) -> None:
        """Leave a lost item (or nothing) for the next one."""
        with self._lock:
            if self.current is not None and not self.current.lost:
                raise NotAllowed("answer or skip the item shown first")
            self._advance()
        self._fetch_soon()

    def close(self) -> None:
        """The tab closed: answers in their window are carried out now (the person can no
        longer undo them) and every other item is given back at once."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            pending, self.pending = self.pending, []
            unanswered = [slot for slot in [self.current, *self.upcoming] if slot]
            self.current, self.upcoming = None, deque()
        for answer in pending:
            if answer.timer:
                answer.timer.cancel()
            self._carry_out(answer)
        for slot in unanswered:
            self._give_back(slot, 0)

    def image(self, message_id: str) -> bytes:
        """The image of an item this session holds (shown, next or in its undo window)."""
        with self._lock:
            slots = [self.current, *self.upcoming, *(p.slot for p in self.pending)]
            slot = next((s for s in slots if s and s.message_id == message_id), None)
        if slot is None or not isinstance(slot.content, ReviewItem):
            raise KeyError(message_id)
        try:
            return self.reviewer.image(slot.content)
        except ImageNotFound as gone:  # the page then offers to close it, instead of labels
            slot.unavailable = str(gone)
            raise

    # What the server's own thread does.

    def renew_holds(self) -> None:
        """Renew each hold a third of the way through; a hold found gone marks its item lost."""
        now = self.clock()
        with self._lock:
            slots = [self.current, *self.upcoming, *(p.slot for p in self.pending)]
        for slot in slots:
            if slot is not None and now - slot.kept_at >= self.settings.renew_after_seconds:
                self._renew(slot, now)

    def _renew(self, slot: Slot, now: float) -> None:
        with slot.lock:
            if slot.released or slot.lost:
                return
            try:
                self.reviewer.keep(slot.held, self.settings.hold_seconds)
                slot.kept_at = now
            except HoldExpired:
                slot.lost = True
            except AWS_ERRORS as error:  # tried again at the next tick, within the hold
                logger.warning("renewing a hold failed: %s", type(error).__name__)
        if slot.lost:
            with self._lock:
                if slot in self.upcoming:  # never shown: nobody needs to hear of it
                    self.upcoming.remove(slot)
                    self._fetch_soon()

    # Inside the session.

    def _shown(self, message_id: str) -> Slot:
        if self.current is None or self.current.message_id != message_id:
            raise StaleAction(f"{message_id} is not the item shown")
        if self.current.lost:
            raise NotAllowed("this item's hold ran out: it may be another reviewer's now")
        return self.current

    @staticmethod
    def _check_allowed(slot: Slot, action: str) -> None:
        readable = isinstance(slot.content, ReviewItem)
        if action in LABELS and not readable:
            raise NotAllowed("an unreadable message has no image to label: discard or skip it")
        if action in LABELS and slot.unavailable:
            raise NotAllowed("this item's image cannot be read: close it (d) or skip it")
        if action == DISCARD and readable and not slot.unavailable:
            raise NotAllowed(
                "only an unreadable message or an item whose image is gone can be discarded: "
                "label or skip it"
            )
        if action not in (*LABELS, DISCARD):
            raise NotAllowed(f"no such answer: {action!r}")

    def _advance(self) -> None:
        """Show the next item: the one fetched ahead, or one fetched now."""
        self.current = self.upcoming.popleft() if self.upcoming else self._take()
        if self.current is not None:
            self.current.shown_at = self.clock()

    def _take(self) -> Slot | None:
        try:
            held = self.reviewer.take(self.settings.hold_seconds)
        except AWS_ERRORS as error:
            self._notice("failed", f"could not fetch an item: {type(error).__name__}: {error}")
            return None
        return Slot(held, self.clock()) if held else None

    def _fetch_soon(self) -> None:
        """Fetch the next item in the background, unless one is fetched or being fetched."""
        with self._lock:
            if self.closed or self._fetching or self.upcoming:
                return
            self._fetching = True
        threading.Thread(target=self._fetch, daemon=True).start()

    def _fetch(self) -> None:
        slot = None
        try:
            slot = self._take()
        finally:
            with self._lock:
                self._fetching = False
                closed = self.closed
                if slot is not None and not closed:
                    self.upcoming.append(slot)
                    if self.current is None:
                        self._advance()
        if slot is not None and closed:
            self._give_back(slot, 0)

    def _commit(self, pending: Pending) -> None:
        """The undo window closed: carry the answer out, unless it was undone meanwhile."""
        with self._lock:
            if pending not in self.pending:
                return
            self.pending.remove(pending)
        self._carry_out(pending)

    def _carry_out(self, pending: Pending) -> None:
        """The answer (or the discard), under the item's lock; its outcome becomes a notice."""
        slot = pending.slot
        with slot.lock:
            slot.released = True
            try:
                kind, text = self._outcome(pending)
            except HoldExpired as error:  # the core's message says whether anyone answered
                kind, text = "lost", str(error)
            except WaitingMarkerLeft as error:  # recorded; only the alarm's marker stayed
                kind, text = "recorded", str(error)
            except AWS_ERRORS as error:  # the item comes back to the queue when its hold ends
                kind = "failed"
                text = f"{name_of(slot)}: not saved: {type(error).__name__}: {error}"
        with self._lock:
            self.done += kind in DONE
        self._notice(kind, text)

    def _outcome(self, pending: Pending) -> tuple[str, str]:
        name, held = name_of(pending.slot), pending.slot.held
        if pending.action == DISCARD:
            key = self.reviewer.discard(held)
            if isinstance(held.content, ReviewItem):
                return "saved", f"{name}: closed, its image unavailable (recorded in {key})"
            return "saved", f"{name}: discarded (a copy kept in {key})"
        answer = self.reviewer.answer(
            held, pending.action, pending.seconds_spent, pending.answered_at
        )
        if answer.already_answered:
            return "already", (
                f"{name}: already answered {answer.label} by {answer.reviewer}; "
                "nothing more was written"
            )
        return "saved", f"{name}: {answer.label}"

    def _give_back(self, slot: Slot, delay_seconds: int) -> None:
        with slot.lock:
            if slot.released:
                return
            slot.released = True
            try:
                self.reviewer.give_back(slot.held, delay_seconds=delay_seconds)
            except HoldExpired:
                pass  # already back in the queue, or another reviewer's
            except AWS_ERRORS as error:  # it comes back by itself when its hold ends
                logger.warning("giving an item back failed: %s", type(error).__name__)

    def _notice(self, kind: str, text: str) -> None:
        with self._lock:
            self.notices.appendleft(Notice(kind, text, datetime.now(UTC)))


class Sessions:
    """Every open tab's session, and the thread that renews their holds and closes the tabs
    that stopped polling (a closed laptop lid sends no goodbye)."""

    def __init__(
        self,
        reviewer: Reviewer,
        settings: Settings,
        clock: Callable[[], float] = time.time,  # runs on while the machine sleeps, as holds do
    ):
        self.reviewer = reviewer
        self.settings = settings
        self.clock = clock
        self.left: int | None = None  # items waiting, as the queue last reported (approximate)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tend, name="review-sessions", daemon=True)

    def open(self) -> Session:
        session = Session(self.reviewer, self.settings, self.clock)
        with self._lock:
            self._sessions[session.id] = session
        session.start()
        self.count()
        return session

    def get(self, session_id: str) -> Session:
        """The open session of that id; KeyError for any other."""
        with self._lock:
            return self._sessions[session_id]

    def close(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            session.close()

    def __enter__(self) -> "Sessions":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.close_all()

    def close_all(self) -> None:
        """Close every session: nothing stays held by a page that is gone."""
        with self._lock:
            ids = list(self._sessions)
        for session_id in ids:
            self.close(session_id)

    def count(self) -> None:
        """How many items wait (those no reviewer holds); None when it cannot be said."""
        try:
            self.left = self.reviewer.waiting()
        except AWS_ERRORS as error:
            logger.warning("counting the waiting items failed: %s", type(error).__name__)
            self.left = None

    def tend(self) -> None:
        """One round: close silent sessions, renew the others' holds, count what waits."""
        now = self.clock()
        with self._lock:
            sessions = list(self._sessions.values())
        if sessions:
            self.count()
        for session in sessions:
            if now - session.last_seen > self.settings.idle_seconds:
                self.close(session.id)
            else:
                session.renew_holds()

    def _tend(self) -> None:
        while not self._stop.wait(self.settings.tick_seconds):
            try:
                self.tend()
            except Exception:  # the thread must outlive one bad round; the next may succeed
                logger.exception("tending the review sessions failed")
