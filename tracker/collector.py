"""The collector: band -> pipeline -> store -> coach -> nudges, for as long as it runs.

Samples from the band are quantised exactly as the store keeps them, pushed through the
same `WindowClassifier` that `classify` uses, and written to the store: raw samples at
least every `flush_every_s`, windows as soon as their label is known (updated while
the segment goes on, final when it ends). When the collector stops, or on the next
start after a crash, whatever segment was open is classified again from the stored raw
samples, so the stored windows always end up equal to what `classify` gives for them.

The coach sees each window once, in time order, and its nudges go to the desktop, to
the band (where it can buzz) and to the store as events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from tracker import bouts as bout_rules
from tracker.ble import BandSession, band_profiles
from tracker.calibration import personal_model_path
from tracker.coach import Coach, CoachEvent, Pause
from tracker.config import Settings
from tracker.labels import SITTING, UNKNOWN
from tracker.notify import DesktopNotifications, NudgeAction
from tracker.pipeline import Classifier, WindowClassifier
from tracker.posture_model import PostureModel
from tracker.store import COLLECTOR_STATUS_KEY, Store, StoreLocation, quantise
from tracker.store_backends import is_database_url, redact
from tracker.suggestions import DayContext, next_suggestion
from tracker.timezones import STORED_ZONE_KEY, zone_name

log = logging.getLogger(__name__)

SNOOZE_CHOICES_MIN = (15, 30, 60)
# The meta key of the start of the band's last segment: everything before is final.
FINALISED_KEY = "finalised_until"
MEETING_MIN = 60


class CollectorError(Exception):
    """The collector cannot start (store locked by another collector, bad settings)."""


@dataclass
class CollectorOptions:
    db: StoreLocation  # a SQLite file or a postgresql:// URL
    device: str  # band name (or part of it) or address
    location: str
    participant: str = "me"
    time_scale: float = 1.0  # follow an emulated band replayed this many times faster
    origin: float | None = None  # timeline time of the first sample (default: now)
    duration_s: float | None = None  # stop after this much band time (the demo)
    flush_every_s: float = 1.0  # host seconds between raw flushes
    relabel_every_s: float = 60.0  # band seconds between updates of today's bouts (and at
    # least 5 host seconds)


class Collector:
    def __init__(self, options: CollectorOptions, settings: Settings, model: Classifier,
                 tz: tzinfo, notifier: DesktopNotifications | None = None) -> None:
        self.options = options
        self.settings = settings
        self.model = model
        self.tz = tz
        self.notifier = notifier if notifier is not None else DesktopNotifications()
        self.device_id = options.device
        self.store: Store | None = None
        self.classifier = WindowClassifier(model, block_windows=1)
        self.coach = Coach(settings.coach, tz)
        self.session: BandSession | None = None
        self._raw: list[tuple[np.ndarray, np.ndarray]] = []
        self._coached_until = -np.inf  # end of the last window the coach has seen
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._session_origin: float | None = None  # where the band's timeline starts
        self._newest_sample: tuple[float, float] | None = None  # (timeline, host monotonic)
        self._last_relabel = -np.inf  # host monotonic time of the last bout update
        self._live_labels: np.ndarray | None = None  # labels of the open segment, last tick
        self._live_first = 0.0
        self._live_windows = -1  # open-segment windows labelled at the last tick
        self._posture = ""  # the latest window's label, for the status
        self._calendar: tuple[float, float, list[Pause]] = (0.0, -np.inf, [])
        self._samples_today = 0
        self._day = ""
        self._pending_nudges: list[CoachEvent] = []
        self._stop: asyncio.Event | None = None
        self._personal_model = personal_model_path(options.db, options.location,
                                                   options.participant)
        self._personal_stamp = _modified(self._personal_model)  # the one `model` came from

    # --- lifecycle -----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        release = self._lock_file()
        try:
            self.store = self._open_claimed()
            self._resume_last_segment()
            self._restore_coach()
            self._keep_zone()
            self._session_origin = self._origin()
            self.session = BandSession(self.options.device, self._on_samples,
                                       profiles=band_profiles(self.settings.custom_band),
                                       time_scale=self.options.time_scale,
                                       origin=self._session_origin,
                                       on_event=self._on_band_event)
            session_task = asyncio.create_task(self.session.run(stop))
            try:
                while not stop.is_set() and not session_task.done():
                    try:
                        await self._tick()
                    except Exception as error:  # a bad tick must not end the collection
                        log.exception("collector tick failed")
                        if self.session is not None:
                            self.session.stats.last_error = f"{type(error).__name__}: {error}"
                        if self._store().lost:
                            # ...but a lost database server does: exit, and the service
                            # manager starts a collector that connects afresh and takes
                            # the band's last segment up again.
                            raise CollectorError(f"lost the connection to "
                                                 f"{self._store().location}") from error
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.options.flush_every_s)
            finally:
                stop.set()
                await session_task
            self._close()
        finally:
            if self.store is not None:
                if not self.store.lost:
                    self._write_status(connected=False, stopped=True)
                self.store.close()
            release()

    def _lock_file(self) -> Callable[[], None]:
        """SQLite: one collector per store file, locked by a file beside it. (A
        PostgreSQL store is shared; _open_claimed locks the band instead.)"""
        if is_database_url(str(self.options.db)):
            return lambda: None
        from filelock import FileLock, Timeout

        lock = FileLock(f"{self.options.db}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise CollectorError(f"{self.options.db} is in use by another collector "
                                 "(one collector per store)") from None
        except OSError as error:  # the store's folder is not writable (or not there)
            raise CollectorError(f"{self.options.db}: cannot create its lock file "
                                 f"{lock.lock_file} ({error.strerror or error})") from None
        return lock.release

    def _open_claimed(self) -> Store:
        """The store, and on PostgreSQL this participant's band claimed: a session-level
        advisory lock, so many collectors share the server but no band is collected
        twice. The server drops it with the connection, even after a kill -9."""
        store = Store.open(self.options.db)
        if store.is_postgres and not store.try_lock(self._band_lock):
            store.close()
            raise CollectorError(
                f"participant {self.options.participant}'s band {self.device_id} is already "
                f"being collected into {redact(str(self.options.db))} by another collector")
        return store

    @property
    def _band_lock(self) -> str:
        return f"collector\0{self.options.participant}\0{self.device_id}"

    def _meta(self, key: str, legacy_key: str) -> str | None:
        """This band's value of `key`; a store written before values were kept per
        participant and device has it store-wide, as `legacy_key`."""
        store = self._store()
        value = store.meta(key, participant=self.options.participant, device=self.device_id)
        return value if value is not None else store.meta(legacy_key)

    def _keep_zone(self) -> None:
        """Store the zone this collector counts days in. The store keeps one per band and
        exports count all its days, earlier ones too, in it: a change (a trip, or the
        computer's zone set anew) is said in the log and kept as an event."""
        zone = zone_name(self.tz)
        if zone is None:
            return
        stored = self._meta(STORED_ZONE_KEY, STORED_ZONE_KEY)
        if stored is not None and stored != zone:
            log.warning("this band's days were counted in %s; from now on all of them "
                        "are counted in %s", stored, zone)
            self._store().add_event(time.time(), "zone_changed", f"{stored} -> {zone}",
                                    participant=self.options.participant,
                                    device=self.device_id)
        self._set_meta(STORED_ZONE_KEY, zone)

    def _set_meta(self, key: str, value: str) -> None:
        self._store().set_meta(key, value, participant=self.options.participant,
                               device=self.device_id)

    def _store(self) -> Store:
        assert self.store is not None
        return self.store

    def _origin(self) -> float | None:
        """Where the timeline starts. A real band (time_scale 1) is on the host clock. A
        band replayed faster runs ahead of it, so after a restart its timeline goes on
        from where the last run left it, plus the replayed time since."""
        if self.options.origin is not None or self.options.time_scale == 1.0:
            return self.options.origin
        status = json.loads(self._meta(COLLECTOR_STATUS_KEY, COLLECTOR_STATUS_KEY) or "{}")
        if not status.get("last_sample"):
            return None
        away = max(0.0, time.time() - float(status["updated"]))
        return float(status["last_sample"]) + away * self.options.time_scale

    def _close(self) -> None:
        """Flush everything and make the stored windows final."""
        segment_start = self._finalised_mark()
        for frame in self.classifier.finish():
            self._store_windows(frame, final=True)
        self._flush_raw()
        self._relabel_bouts()
        # The mark stays at the start of the last segment, not after it: the next run
        # takes that segment up again and continues it if the band's samples go on
        # within the gap limit, as `classify` of the stored samples would.
        self._set_meta(FINALISED_KEY, segment_start or "-inf")
        self._pending_nudges = []  # the run is over: a nudge now would be stale

    def _finalised_mark(self) -> str | None:
        return self._meta(FINALISED_KEY, f"{FINALISED_KEY}:{self.device_id}")

    def _set_finalised(self, until: float) -> None:
        self._set_meta(FINALISED_KEY, repr(until))

    # --- samples in ------------------------------------------------------------------

    def _on_samples(self, t: np.ndarray, xyz: np.ndarray) -> None:
        self._newest_sample = (float(t[-1]), time.monotonic())
        exact = quantise(t, xyz)
        if self.options.duration_s is not None:
            if self._first_t is None:
                self._first_t = float(exact.t[0])
            # A hair under the duration: the sample exactly at its end belongs to the next.
            keep = exact.t - self._first_t < self.options.duration_s - 1e-3
            if not keep.all():
                assert self._stop is not None
                self._stop.set()
            exact = type(exact)(t=exact.t[keep], xyz=exact.xyz[keep])
            if len(exact.t) == 0:
                return
        self._raw.append((exact.t, exact.xyz))
        self._last_t = float(exact.t[-1])
        self._count_today(len(exact.t))
        for frame in self.classifier.push(exact.t, exact.xyz):
            self._store_windows(frame, final=True)

    def _store_windows(self, frame: pd.DataFrame, final: bool) -> None:
        assert self.store is not None
        self.store.add_windows(frame, location=self.options.location,
                               participant=self.options.participant, device=self.device_id)
        fresh = frame[frame["start"] >= self._coached_until - 1e-6]
        for row in fresh.itertuples(index=False):
            for event in self.coach.feed(float(row.start), float(row.end), str(row.label)):
                self._record(event)
        if len(fresh):
            self._coached_until = float(fresh["end"].iloc[-1])
        if final and len(frame):
            self._relabel_bouts()
            if frame["label"].iloc[-1] == UNKNOWN:
                # A gap row ends where the next segment starts: everything before it is
                # final, and classifying from there on starts on the same grid.
                self._set_finalised(float(frame["end"].iloc[-1]))

    def _count_today(self, n: int) -> None:
        day = datetime.now(self.tz).date().isoformat()
        if day != self._day:
            self._day, self._samples_today = day, 0
        self._samples_today += n

    # --- the periodic work -------------------------------------------------------------

    async def _tick(self) -> None:
        """Once a host second or so: store raw samples, label the open segment so far
        (the coach sees each new window), obey the user's controls, nudge."""
        self._flush_raw()
        self._read_controls()
        self._follow_personal_model()
        # Label the open segment again only when it has grown: smoothing looks at all of
        # it, and a band at 52 Hz completes a window every 5 s, not every tick.
        grown = self.classifier.open_segment_windows
        live = self.classifier.open_segment_rows() if grown != self._live_windows else None
        self._live_windows = grown
        if live is not None:
            self._store_windows(self._changed(live), final=False)
            now = time.monotonic()
            if now - self._last_relabel >= self.options.relabel_every_s / \
                    self.options.time_scale and now - self._last_relabel >= 5.0:
                self._last_relabel = now
                self._relabel_bouts()
        self._write_status(bool(self.session and self.session.stats.connected), live)
        await self._deliver_nudges()

    def _follow_personal_model(self) -> None:
        """Label with a personal model fitted while the collector runs (calibration or
        `train --personal`) from the next window on, without a restart."""
        stamp = _modified(self._personal_model)
        if stamp is None or stamp == self._personal_stamp:
            return
        self._personal_stamp = stamp
        try:
            model = PostureModel.load(self._personal_model)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            log.warning("cannot read the personal model %s: %s", self._personal_model, error)
            return
        shape = (model.rate_hz, model.window_s, model.context_windows, model.classes)
        if shape != (self.model.rate_hz, self.model.window_s, self.model.context_windows,
                     self.model.classes):
            log.warning("ignoring %s: made for another kind of model", self._personal_model)
            return
        self.model = self.classifier.model = model
        log.info("labelling with the personal model %s from now on", self._personal_model)

    def _changed(self, live: pd.DataFrame) -> pd.DataFrame:
        """The live rows that are new or whose label changed since the last tick: the
        open segment can be hours long, and rewriting it every second would cost more
        than everything else the collector does."""
        if live.empty:
            return live
        labels = live["label"].to_numpy()
        previous = self._live_labels
        self._live_labels = labels
        if previous is None or len(previous) > len(labels) or \
                live["start"].iloc[0] != self._live_first:
            self._live_first = float(live["start"].iloc[0])
            return live
        known = len(previous)
        changed = np.flatnonzero(labels[:known] != previous)
        return pd.concat([live.iloc[changed], live.iloc[known:]])

    def _flush_raw(self) -> None:
        if not self._raw or self.store is None:
            return
        t = np.concatenate([p[0] for p in self._raw])
        xyz = np.concatenate([p[1] for p in self._raw])
        # Dropped only once stored: after a failed write (a database connection lost
        # mid-commit) the next flush sends them again with the newer ones. That retry
        # starts at the same sample, so its chunks have the same keys and replace
        # whatever of the first attempt did get stored: nothing counts twice.
        self.store.add_raw(t, xyz, participant=self.options.participant, device=self.device_id)
        self._raw = []

    def _relabel_bouts(self) -> None:
        """Bouts of the stored windows since local midnight (cheap: a day is 17k windows)."""
        assert self.store is not None
        if self._last_t is None:
            return
        local = datetime.fromtimestamp(self._last_t, self.tz)
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        windows = self.store.windows(day_start, np.inf, self.options.participant)
        windows = windows[windows["device_id"] == self.device_id]
        bouts = bout_rules.bouts_from_windows(windows.rename(
            columns={"start_s": "start", "end_s": "end"}))
        self.store.replace_bouts(bouts, day_start, np.inf, participant=self.options.participant,
                                 device=self.device_id)

    # --- the coach and the user's controls ---------------------------------------------

    def _record(self, event: CoachEvent) -> None:
        assert self.store is not None
        self.store.add_event(event.time, event.kind, event.detail,
                             participant=self.options.participant, device=self.device_id)
        if event.kind in ("nudge", "reminder"):
            self._pending_nudges.append(event)

    async def _deliver_nudges(self) -> None:
        pending, self._pending_nudges = self._pending_nudges, []
        for event in pending:
            await self._deliver(event)

    async def _deliver(self, event: CoachEvent) -> None:
        suggestion = next_suggestion(self._day_context(event.time))
        title = f"Sitting for {self.coach.streak_minutes(event.time):.0f} min: time to move"
        body = f"{suggestion.title} ({suggestion.duration_min:g} min). {suggestion.instructions}"
        actions = (*(NudgeAction(f"Snooze {m} min", self._snooze_action(m))
                     for m in SNOOZE_CHOICES_MIN[:2]),
                   NudgeAction("In a meeting", self._meeting_action()))
        channels = []
        if self.settings.notify.desktop and await self.notifier.send(title, body, actions):
            channels.append("desktop")
        if self.settings.notify.band and self.session is not None and \
                await self.session.buzz(title, suggestion.title):
            channels.append("band")
        assert self.store is not None
        self.store.add_event(event.time, f"{event.kind}_delivered",
                             json.dumps({"channels": channels, "suggestion": suggestion.key}),
                             participant=self.options.participant, device=self.device_id)

    def _day_context(self, now: float) -> DayContext:
        assert self.store is not None
        local = datetime.fromtimestamp(now, self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        windows = self.store.windows(midnight, now, self.options.participant)
        durations = windows["end_s"] - windows["start_s"]
        events = self.store.events(midnight, now, self.options.participant)
        return DayContext(
            streak_min=self.coach.streak_minutes(now),
            sitting_today_min=float(durations[windows["label"] == SITTING].sum()) / 60,
            local_hour=local.hour + local.minute / 60,
            lying_rest_done_today=bool((events["kind"] == "rest").any()),
            location=self.options.location)

    def _timeline_now(self) -> float:
        clock = self.session.clock if self.session else None
        return clock.timeline(time.monotonic()) if clock is not None else time.time()

    def _snooze_action(self, minutes: int) -> Callable[[], None]:
        def press() -> None:
            now = self._timeline_now()
            assert self.store is not None
            self.store.add_event(now, "snooze", f"until={now + minutes * 60:.0f}",
                                 participant=self.options.participant, device=self.device_id)
            for event in self.coach.snoozed(now):
                self._record(event)
            self._read_controls()
        return press

    def _meeting_action(self) -> Callable[[], None]:
        def press() -> None:
            now = self._timeline_now()
            assert self.store is not None
            self.store.add_event(now, "meeting", f"until={now + MEETING_MIN * 60:.0f}",
                                 participant=self.options.participant, device=self.device_id)
            self._read_controls()
        return press

    def _read_controls(self) -> None:
        """Snoozes and meetings set from the dashboard or a notification, as pauses."""
        assert self.store is not None
        events = self.store.events(self._timeline_now() - 86400, np.inf,
                                   self.options.participant)
        pauses: list[Pause] = []
        for row in events[events["kind"].isin(["snooze", "meeting", "meeting_end"])].itertuples():
            if row.kind == "meeting_end":
                pauses = [p if p.reason != "meeting" else Pause(p.start, row.time_s, p.reason)
                          for p in pauses]
                continue
            until = float(str(row.detail).removeprefix("until="))
            pauses.append(Pause(float(row.time_s), until, str(row.kind)))
        self.coach.pauses = pauses + self._calendar_pauses()

    def _calendar_pauses(self) -> list[Pause]:
        """Busy times of the configured calendar, re-read when the file changes."""
        path = self.settings.coach.calendar_ics
        if not path:
            return []
        from tracker.calendar_busy import CalendarError, busy_pauses

        now = self._timeline_now()
        try:
            mtime = Path(path).expanduser().stat().st_mtime
        except OSError:
            return self._calendar[2]
        cached_mtime, since, pauses = self._calendar
        if mtime != cached_mtime or not since <= now < since + 86400:
            try:
                pauses = busy_pauses(path, now - 3600, now + 2 * 86400, self.tz)
            except CalendarError as error:
                log.warning("%s", error)
            self._calendar = (mtime, now - 3600, pauses)
        return pauses

    # --- start-up -----------------------------------------------------------------------

    def _resume_last_segment(self) -> None:
        """Take up the store's last segment where the previous run left it.

        Its raw samples go through the live classifier again without closing it: if the
        band's next sample comes within the gap limit the segment simply goes on, as
        `classify` of the stored samples would see it; otherwise the windower closes it
        and marks the gap.  A crash's provisional labels are replaced on the way."""
        assert self.store is not None
        since = float(self._finalised_mark() or "-inf")
        # `since` is where the last segment starts, so its samples lie on the same window
        # grid as in a `classify` of everything.
        chunks = ((c.t[c.t >= since], c.xyz[c.t >= since])
                  for _, device, c in self.store.raw_chunks(since, np.inf,
                                                            self.options.participant)
                  if device == self.device_id)
        with self.store.transaction():
            self.store.delete_windows(since, np.inf, participant=self.options.participant,
                                      device=self.device_id)
            for t, xyz in chunks:
                if len(t):
                    self._last_t = float(t[-1])
                    for frame in self.classifier.push(t, xyz):
                        self.store.add_windows(frame, location=self.options.location,
                                               participant=self.options.participant,
                                               device=self.device_id)
                        if len(frame) and frame["label"].iloc[-1] == UNKNOWN:
                            self._set_finalised(float(frame["end"].iloc[-1]))
            live = self.classifier.open_segment_rows()
            if live is not None:  # provisional, as the previous run left them
                self.store.add_windows(self._changed(live), location=self.options.location,
                                       participant=self.options.participant,
                                       device=self.device_id)
                self._live_windows = self.classifier.open_segment_windows
        if self._last_t is not None:
            self._relabel_bouts()

    def _restore_coach(self) -> None:
        """Replay the last hours of stored windows so a streak survives a restart."""
        assert self.store is not None
        windows = self.store.windows(time.time() - 12 * 3600 if self.options.origin is None
                                     else self.options.origin - 12 * 3600, np.inf,
                                     self.options.participant)
        windows = windows[windows["device_id"] == self.device_id]
        for row in windows.itertuples(index=False):
            self.coach.feed(float(row.start_s), float(row.end_s), str(row.label))
        if len(windows):
            self._coached_until = float(windows["end_s"].iloc[-1])

    # --- status ---------------------------------------------------------------------------

    def _on_band_event(self, kind: str, detail: str) -> None:
        if self.store is not None and kind in ("connected", "link lost", "stall", "error"):
            self.store.add_event(self._band_event_time(), f"band_{kind.replace(' ', '_')}",
                                 detail, participant=self.options.participant,
                                 device=self.device_id)

    def _band_event_time(self) -> float:
        """Now, on the samples' timeline. A real band's is the host clock. A replayed
        band's (the demo) runs ahead of it from its own origin: an event lies the replayed
        time after the newest sample, or at the origin before the first sample arrives."""
        if self.options.time_scale == 1.0 and self.options.origin is None:
            return time.time()
        if self._newest_sample is None:
            return self._session_origin if self._session_origin is not None else time.time()
        sample_t, arrived = self._newest_sample
        return sample_t + (time.monotonic() - arrived) * self.options.time_scale

    def _write_status(self, connected: bool, last: pd.DataFrame | None = None,
                      stopped: bool = False) -> None:
        stats = self.session.stats if self.session else None
        if last is not None and len(last):
            self._posture = str(last["label"].iloc[-1])
        status = {
            "updated": time.time(), "pid": os.getpid(), "connected": connected,
            "band": stats.name if stats else "", "profile": stats.profile if stats else "",
            "battery": stats.battery if stats else None,
            "posture": self._posture,
            "streak_min": round(self.coach.streak_minutes(self._last_t or time.time()), 1),
            "samples_today": self._samples_today,
            "last_error": stats.last_error if stats else "",
            "last_sample": self._last_t, "location": self.options.location,
            "device_id": self.device_id,
            # The last report of a collector that stops: `status` and the dashboard need
            # not wait for it to age (nor see its process end, which they cannot on
            # another computer).
            "stopped": stopped,
        }
        self._set_meta(COLLECTOR_STATUS_KEY, json.dumps(status))


def _modified(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
