"""Running accepted picture changes so that none is lost, repeated wrongly or stuck.

Every change is written to the store before anything slow happens: before its picture is
downloaded (the Telegram file id is written down, so the download can be done again after a
restart), and before it runs. Writing it down is also the one atomic "was this request already
taken up?" step. It runs in its provider account's queue, at that account's pace, retried while
the failure can pass; it is closed together with its audit row. On start-up, changes a crash
left open are resumed (setting and removing a picture are idempotent) when their actor may still
make them, or failed when they are too old. A newer change for the same target replaces one
still waiting; removing a group cancels the changes still waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from adapters import Awaited, Capability, PictureResult, PreparedPicture, Provider
from bot import audit, texts
from bot.access import Access
from bot.clock import Clock
from bot.domain import (
    ACCOUNT_PREFIX,
    GUARD,
    Action,
    AuditOutcome,
    Change,
    Group,
    MessageRef,
    Operation,
    OperationStatus,
    Outcome,
    PhotoSource,
    Progress,
    Refusal,
    Result,
    Target,
    target_key,
)
from bot.images import MAX_DOWNLOAD_BYTES, ImageRefused, prepare_picture_async
from bot.leases import TAKE_OVER_AT_ONCE, Leases
from bot.logs import about
from bot.media import MediaStore
from bot.metrics import Metrics
from bot.notify import ChangeEvent, Notifier
from bot.pacing import pacer_for
from bot.picture_history import PictureHistory
from bot.queues import UNPACED, AccountQueue, Job
from bot.retry import RetryPolicy, with_retries
from bot.store import Store, StoreUnavailable, until_back

log = logging.getLogger(__name__)

#: downloads a Telegram file by its id (injected by the Telegram side)
Download = Callable[[str], Awaitable[bytes]]
#: tells the person who asked how a change they no longer wait for ended (after a restart,
#: or when its group was removed)
Report = Callable[[Operation, Outcome], Awaitable[object]]
#: confirmations kept for a change not yet seen waiting (one that came before the provider's
#: answer was read); older ones are forgotten
EARLY_CONFIRMATIONS = 1000

_STATUS_AUDIT = {
    OperationStatus.DONE: AuditOutcome.DONE,
    OperationStatus.FAILED: AuditOutcome.FAILED,
    OperationStatus.SUPERSEDED: AuditOutcome.SUPERSEDED,
    OperationStatus.REFUSED: AuditOutcome.REFUSED,
    OperationStatus.CANCELLED: AuditOutcome.CANCELLED,
}
_STATUS_RESULT = {
    OperationStatus.FAILED: Result.FAILED,
    OperationStatus.SUPERSEDED: Result.SUPERSEDED,
    OperationStatus.REFUSED: Result.REFUSED,
    OperationStatus.CANCELLED: Result.CANCELLED,
}


def check_size(photo: PhotoSource) -> None:
    """Refuse a file Telegram would not let the bot download, before trying."""
    if photo.file_size is not None and photo.file_size > MAX_DOWNLOAD_BYTES:
        raise Refusal(
            texts.file_too_big(photo.file_size / 1_000_000, MAX_DOWNLOAD_BYTES // (1024 * 1024))
        )


class _Superseded(Exception):
    """A newer change for the same target is done or at a provider."""

    def __init__(self, by: str) -> None:
        super().__init__(by)
        self.by = by


@dataclass(frozen=True)
class _Finished:
    """What a queued job ends with: the outcome, and the notice to send once it is answered."""

    outcome: Outcome
    notice: ChangeEvent | None = None
    #: the provider accepted the change and confirms it later: nothing is closed yet
    awaiting: _Awaiting | None = None


@dataclass(frozen=True)
class _Awaiting:
    """The confirmation an accepted change waits for, and until when (written down too)."""

    request_id: str
    until: datetime


class ChangeRunner:
    def __init__(
        self,
        *,
        store: Store,
        access: Access,
        providers: dict[str, Provider],
        notifier: Notifier,
        media: MediaStore | None,
        policy: RetryPolicy,
        max_resume_age: timedelta,
        report: Report,
        download: Download,
        metrics: Metrics,
        picture_history: PictureHistory,
        leases: Leases,
        clock: Clock,
    ) -> None:
        self._store = store
        self._access = access
        self._providers = providers
        self._notifier = notifier
        self._media = media
        self._policy = policy
        self._max_resume_age = max_resume_age
        self._report = report
        self._download = download
        self._metrics = metrics
        #: keeps the picture before and after each change (bot/picture_history.py)
        self._picture_history = picture_history
        self._queues = {name: self._queue(name, p) for name, p in providers.items()}
        #: the operation each queued job runs, and what it changes
        self._jobs: dict[Job, tuple[int, Change]] = {}
        self._reports: set[asyncio.Task[None]] = set()
        #: this instance's claims on open changes (several instances on one store)
        self._leases = leases
        self._clock = clock
        self._keeper: asyncio.Task[None] | None = None
        #: stopping (SIGTERM): changes that did not reach a provider are handed back
        self._draining = False
        #: (provider, request id) -> the confirmation a change accepted by its provider awaits
        self._awaiting: dict[tuple[str, str], asyncio.Future[PictureResult]] = {}
        self._early: OrderedDict[tuple[str, str], PictureResult] = OrderedDict()

    def _queue(self, name: str, provider: Provider) -> AccountQueue:
        """One account's queue, at its pace (kept across instances sharing the store)."""
        intervals = {
            "group": provider.settings.group_interval_seconds,
            "own": provider.settings.own_interval_seconds,
        }
        return AccountQueue(intervals, pacer=pacer_for(self._store, name, intervals))

    async def submit(
        self, change: Change, progress: Progress | None = None, photo: PhotoSource | None = None
    ) -> Outcome:
        """Write the change down, fetch its picture (`photo`) when it has none yet, queue it,
        and wait for its outcome. A request already taken up ends DUPLICATE at once."""
        progress = progress or Progress()
        operation_id = await self.record(change, progress, photo)
        if operation_id is None:
            return Outcome(Result.DUPLICATE, change.target.title)
        remembering = self._remember_reply(operation_id, progress)
        try:
            return await self.start(
                operation_id,
                change,
                photo.file_id if photo else None,
                progress.queued,
                progress.waiting,
            )
        finally:
            if remembering is not None:
                remembering.cancel()

    async def record(
        self, change: Change, progress: Progress | None = None, photo: PhotoSource | None = None
    ) -> int | None:
        """Write a change down (joining the caller's transaction, if any); its operation id,
        or None when its request was already taken up."""
        return await self._store.operations.add(
            _operation(change, progress or Progress(), photo), self._leases.claim()
        )

    def _remember_reply(self, operation_id: int, progress: Progress) -> asyncio.Task[None] | None:
        """Write down the answer message once it is sent (`progress.replied`), so that a change
        resumed after a restart edits it. A change that ends before is answered at its end and
        costs no write: the caller cancels this then."""
        replied = progress.replied
        if progress.reply is not None or replied is None:
            return None

        async def remember() -> None:
            reply = await replied()
            # the change may end while this is written: the write completes all the same
            await asyncio.shield(self._write_reply(operation_id, reply))

        return asyncio.create_task(remember())

    async def _write_reply(self, operation_id: int, reply: MessageRef) -> None:
        try:
            await self._store.operations.set_reply(operation_id, reply.chat_id, reply.message_id)
        except Exception:  # a restart would answer anew instead of editing: worth a line only
            log.warning("could not write down the answer of change %s", operation_id, exc_info=True)

    async def start(
        self,
        operation_id: int,
        change: Change,
        file_id: str | None = None,
        queued: Callable[[int], Awaitable[object]] | None = None,
        waiting: Callable[[], Awaitable[MessageRef]] | None = None,
    ) -> Outcome:
        """Run a written-down change: fetch its picture when it has none, queue it, wait (and
        say `waiting` when the provider accepted it and confirms it later)."""
        if change.picture is None and file_id is not None:
            try:
                picture = await self.fetch(file_id)
            except Refusal as refusal:
                return await self._close_unrun(
                    operation_id, OperationStatus.REFUSED, refusal.reason, change.target.title
                )
            await until_back(
                lambda: self._store.operations.set_picture(operation_id, picture.jpeg, picture.side)
            )
            change = replace(change, picture=picture)
        group = change.target.group
        group_id = group.id if group is not None else None
        if (
            group is not None
            and group_id is not None
            and not await until_back(lambda: self._store.groups.by_id(group_id))
        ):
            reason = texts.removed_before_run(group.alias)
            return await self._close_unrun(
                operation_id, OperationStatus.CANCELLED, reason, change.target.title
            )
        if self._draining:
            await self._hand_back([operation_id])
            return Outcome(Result.DUPLICATE, change.target.title)
        job, ahead = await self._enqueue(operation_id, change)
        if ahead and queued is not None:
            await queued(ahead)
        return await self._finished(job, operation_id, change, waiting)

    async def already_requested(self, request_key: str) -> bool:
        return await self._store.operations.for_request(request_key) is not None

    def confirm(self, provider: str, request_id: str, result: PictureResult) -> bool:
        """A provider's later word on a change it accepted (a webhook); False when no change
        waits for it here: a duplicate, one after the change gave up waiting, or one that came
        before the provider's answer was read (kept a while for that case)."""
        key = (provider, request_id)
        waiter = self._awaiting.get(key)
        if waiter is None:
            self._early[key] = result
            while len(self._early) > EARLY_CONFIRMATIONS:
                self._early.popitem(last=False)
            log.info(
                "%s confirmed request %s, which no change waits for here", provider, request_id
            )
            return False
        if waiter.done():
            return False
        waiter.set_result(result)
        return True

    async def cancel_group(self, group: Group, reason: str) -> None:
        """Cancel the changes waiting in a queue for a group that is being removed; whoever
        waits for one hears `reason`."""
        for queue in self._queues.values():
            for job in queue.cancel(lambda job: self._is_for(job, group)):
                operation_id, change = self._jobs[job]
                outcome = await self._close_unrun(
                    operation_id, OperationStatus.CANCELLED, reason, change.target.title
                )
                job.future.set_result(_Finished(outcome))

    async def resume(self) -> None:
        """Take up the changes a crash or a stop left open; the oldest first. Alone on its
        store (SQLite), every open change; sharing it (PostgreSQL), those whose lease ran out,
        and from then on, now and then, those another instance left (bot/leases.py)."""
        operations = self._store.operations
        if not self._store.shared:
            await self._take_up(await operations.claim_open(self._leases.claim(), limit=2**31))
            return
        await self._take_over()
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_leases())

    async def _take_over(self) -> None:
        if self._draining:  # stopping: what it hands back is for the other instances
            return
        claimed = await self._store.operations.claim_open(
            self._leases.claim(), limit=TAKE_OVER_AT_ONCE, now=self._leases.now()
        )
        self._metrics.takeovers.inc(len(claimed))
        await self._take_up(claimed)

    async def _keep_leases(self) -> None:
        """Renew this instance's leases well within one lease, and look for changes to take
        over more often: a change handed back at a stop is taken up within moments."""
        renewed = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(self._leases.look_every)
            try:
                if asyncio.get_running_loop().time() - renewed >= self._leases.renew_every:
                    claim = self._leases.claim()
                    async with self._store.transaction():  # one round trip fewer than two
                        await self._store.operations.renew(claim)
                        await self._store.instances.renew(claim.owner, claim.until)
                    renewed = asyncio.get_running_loop().time()
                await self._take_over()
            except StoreUnavailable as away:  # it renews and looks again once the store is back
                log.warning("could not renew this instance's leases: %s", away)
            except Exception:
                log.exception("could not renew this instance's leases or take over changes")

    async def _take_up(self, operations: list[Operation]) -> None:
        now = self._clock.now()
        for operation in operations:
            assert operation.id is not None
            age = now - datetime.fromisoformat(operation.created_at)
            unrun: Change | tuple[OperationStatus, str]
            if operation.awaiting is None and age > self._max_resume_age:
                minutes = self._max_resume_age.total_seconds() / 60
                unrun = (OperationStatus.FAILED, texts.too_old_to_resume(minutes))
            else:
                unrun = await self._rebuild(operation)
            if isinstance(unrun, Change) and operation.awaiting is not None:
                # sent before the restart: wait for the rest of its time, never send it again
                until = datetime.fromisoformat(operation.awaiting_until or operation.created_at)
                awaiting = _Awaiting(operation.awaiting, until)
                self._await_later(operation.id, unrun, awaiting, resumed=True)
                continue
            if isinstance(unrun, Change):
                self._report_later(operation, self.start(operation.id, unrun, operation.file_id))
                continue
            status, reason = unrun
            outcome = await self._close_unrun(operation.id, status, reason, operation.target)
            await self._report_resumed(operation, outcome)

    async def drain(self, grace: float) -> None:
        """Stop (SIGTERM): take no more changes; hand back at once those waiting in a queue
        (another instance sharing the store takes them up within moments; alone, the next
        start does); let those at a provider finish for up to `grace` seconds, then hand them
        back too. Whoever waits for a handed-back change hears nothing from this instance:
        the one that runs it answers (as after a restart)."""
        self._draining = True
        await self._hand_back_jobs(
            [job for queue in self._queues.values() for job in queue.cancel(_every_job)]
        )
        running = [job.future for job in self._jobs if not job.future.done()]
        if running:
            log.info("stopping: up to %g s for %d changes at a provider", grace, len(running))
            await asyncio.wait(running, timeout=grace)
        left = [job for job in self._jobs if not job.future.done()]
        await self.close()
        await self._hand_back_jobs(left)

    async def _hand_back(self, operation_ids: list[int]) -> None:
        """Let another instance take these changes up at once (alone: the next start does)."""
        if operation_ids and self._store.shared:
            try:
                await self._store.operations.release(self._leases.owner, operation_ids)
            except Exception:  # their leases run out instead
                log.warning("could not hand back %d changes", len(operation_ids), exc_info=True)

    async def _hand_back_jobs(self, jobs: list[Job]) -> None:
        """Hand back queued changes; whoever waits for one here hears nothing (DUPLICATE)."""
        held = [(job, *self._jobs[job]) for job in jobs if job in self._jobs]
        await self._hand_back([operation_id for _, operation_id, _ in held])
        for job, _, change in held:
            if not job.future.done():
                job.future.set_result(_Finished(Outcome(Result.DUPLICATE, change.target.title)))

    async def close(self) -> None:
        """Stop the queues; what did not finish stays open in the store and resumes later
        (at once on another instance sharing the store: this one gives up its claims)."""
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None
        for queue in self._queues.values():
            await queue.close()
        for task in list(self._reports):
            task.cancel()
        if self._store.shared:
            try:
                await self._store.operations.release(self._leases.owner)
                await self._store.instances.leave(self._leases.owner)
            except Exception:
                log.warning("could not give up this instance's claims", exc_info=True)

    def waiting(self) -> dict[str, int]:
        """Provider account -> changes waiting or running in its queue, in this instance."""
        return {name: len(queue) for name, queue in self._queues.items()}

    # ------------------------------------------------------------------------------------------

    def _is_for(self, job: Job, group: Group) -> bool:
        held = self._jobs.get(job)  # a read (`read`) is no change
        target = held[1].target.group if held else None
        return target is not None and target.id == group.id

    @property
    def providers(self) -> dict[str, Provider]:
        return self._providers

    def target_of(self, group: Group) -> Target:
        return Target(provider=self._providers[group.provider], title=group.title, group=group)

    async def read(self, target: Target) -> PictureResult:
        """Read a group's picture, or the account's own, in its account's queue (watching,
        bot/watch.py): after the changes queued before it, before those queued after; it keeps
        no pace, so a change waits for at most one read."""
        provider, group = target.provider, target.group
        job = Job(
            target=f"read:{target_key(target)}",
            pace=UNPACED,
            run=(
                (lambda: provider.watch_group_picture(group.chat_id))
                if group is not None
                else provider.get_own_picture
            ),
        )
        result: PictureResult = await self._queues[provider.name].submit(job).job.future
        return result

    async def fetch(self, file_id: str) -> PreparedPicture:
        """Download a picture from Telegram and prepare it; raises `Refusal`."""
        try:
            data = await self._download(file_id)
        except Exception:
            log.warning("could not download a photo from Telegram", exc_info=True)
            raise Refusal(texts.DOWNLOAD_FAILED) from None
        try:
            return await prepare_picture_async(data)
        except ImageRefused as refused:
            raise Refusal(refused.reason) from None

    async def _enqueue(self, operation_id: int, change: Change) -> tuple[Job, int]:
        job = Job(
            target=change.target.audit_name,
            pace="own" if change.target.group is None else "group",
            run=lambda: self._run(operation_id, change),
        )
        self._jobs[job] = (operation_id, change)
        job.future.add_done_callback(lambda _: self._jobs.pop(job, None))
        submitted = self._queues[change.target.provider.name].submit(job, replace_same_target=True)
        for replaced in submitted.replaced:
            older_id, older = self._jobs[replaced]
            reason = texts.newer_change_reason(change.actor.name, change.target.title)
            outcome = await self._close_unrun(
                older_id, OperationStatus.SUPERSEDED, reason, older.target.title
            )
            replaced.future.set_result(_Finished(outcome))
        return job, submitted.ahead

    async def _finished(
        self,
        job: Job,
        operation_id: int,
        change: Change,
        waiting: Callable[[], Awaitable[MessageRef]] | None = None,
    ) -> Outcome:
        """Wait for a job; its notice goes out in the background, after the answer. A change
        its provider confirms later says so (`waiting`), and its outcome comes later."""
        finished: _Finished = await job.future
        if (awaiting := finished.awaiting) is not None:
            # said and written down before the confirmation can come: the outcome edits it
            if waiting is not None:
                try:
                    shown = await waiting()
                    await self._write_reply(operation_id, shown)
                except Exception:  # only a progress line: the outcome is said (or tried) later
                    log.warning("could not say that a change waits for its confirmation")
            self._await_later(operation_id, change, awaiting, resumed=False)
            return Outcome(Result.DONE, change.target.title, awaiting=True)
        if finished.notice is not None:
            self._notifier.change_executed(finished.notice)
        return finished.outcome

    async def _run(self, operation_id: int, change: Change) -> _Finished:
        """Run a queued change; its log lines name it (JSON logs: change_id, provider, group)."""
        with about(**_log_fields(operation_id, change)):
            finished = await self._execute(operation_id, change)
            log.info("change %s ended: %s", operation_id, finished.outcome.result.value)
            return finished

    async def _execute(self, operation_id: int, change: Change) -> _Finished:
        """Run a change; a store step that finds the store away waits for it to come back."""
        try:
            await until_back(lambda: self._no_newer(operation_id, change))
            await until_back(lambda: self._picture_history.before(operation_id, change))

            async def attempt() -> PictureResult:
                await until_back(lambda: self._no_newer(operation_id, change))  # each retry too
                await until_back(lambda: self._store.operations.start_attempt(operation_id))
                return await self._call(change)

            result = (await with_retries(attempt, self._policy)).result
        except _Superseded as newer:
            reason = texts.newer_change_reason(newer.by, change.target.title)
            return _Finished(
                await self._close_unrun(
                    operation_id, OperationStatus.SUPERSEDED, reason, change.target.title
                )
            )
        provider = change.target.provider
        self._notifier.provider_answered(provider.name, result)
        if result.ok and result.awaited is not None:
            awaiting = _awaiting(result.awaited, self._clock)
            self._expect(provider.name, awaiting.request_id)
            await until_back(
                lambda: self._store.operations.await_confirmation(
                    operation_id, awaiting.request_id, awaiting.until.isoformat()
                )
            )
            return _Finished(Outcome(Result.DONE, change.target.title), awaiting=awaiting)
        return await self._closed(operation_id, change, result)

    def _expect(self, provider: str, request_id: str) -> asyncio.Future[PictureResult]:
        """The confirmation a change waits for (already here when it came early)."""
        key = (provider, request_id)
        future = self._awaiting.get(key)
        if future is None:
            future = self._awaiting[key] = asyncio.get_running_loop().create_future()
            early = self._early.pop(key, None)
            if early is not None:
                future.set_result(early)
        return future

    async def _confirmed(self, operation_id: int, change: Change, awaiting: _Awaiting) -> _Finished:
        """Wait for the provider's confirmation of an accepted change, then close it with what
        the confirmation says, or as accepted and not confirmed."""
        key = (change.target.provider.name, awaiting.request_id)
        future = self._expect(*key)
        left = max(0.0, (awaiting.until - self._clock.now()).total_seconds())
        try:
            result = await asyncio.wait_for(asyncio.shield(future), left)
            unconfirmed = False
        except TimeoutError:
            result = PictureResult.success(note=texts.NOT_CONFIRMED)
            unconfirmed = True
        finally:
            self._awaiting.pop(key, None)
        finished = await self._closed(operation_id, change, result)
        if unconfirmed and finished.outcome.result is Result.DONE:
            return replace(finished, outcome=replace(finished.outcome, unconfirmed=True))
        return finished

    def _await_later(
        self, operation_id: int, change: Change, awaiting: _Awaiting, *, resumed: bool
    ) -> None:
        """Wait in the background for an accepted change's confirmation (a stop cancels the
        wait; the change stays open and is waited for again after the restart), then tell its
        requester by editing the answer that said it waits."""

        async def wait() -> None:
            finished = await self._confirmed(operation_id, change, awaiting)
            if finished.notice is not None:
                self._notifier.change_executed(finished.notice)
            operation = await self._store.operations.get(operation_id)
            if operation is not None and finished.outcome.result is not Result.DUPLICATE:
                await self._tell(operation, replace(finished.outcome, resumed=resumed))

        task = asyncio.create_task(wait())
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _closed(self, operation_id: int, change: Change, result: PictureResult) -> _Finished:
        """Close a change the provider answered, with its audit row and history (a store
        away is waited for), and what to tell of it."""
        target, provider = change.target, change.target.provider
        status = OperationStatus.DONE if result.ok else OperationStatus.FAILED
        if not await until_back(lambda: self._close(operation_id, change, status, result)):
            # another instance took it over meanwhile: its audit row is that one's to write
            return _Finished(Outcome(Result.DUPLICATE, target.title))
        self._metrics.change_ended(provider.name, change.action.value, status.value)
        return _Finished(
            Outcome(
                Result.DONE if result.ok else Result.FAILED,
                target.title,
                url=result.url,
                reason=result.reason,
            ),
            ChangeEvent(
                actor=change.actor,
                action=change.action,
                group=target.group,
                target=target.title,
                provider=provider.name,
                result=result,
                requester=change.requester,
            )
            if change.bulk_id is None  # a bulk change tells its summary once (bot/bulk.py)
            else None,
        )

    async def _close(
        self, operation_id: int, change: Change, status: OperationStatus, result: PictureResult
    ) -> bool:
        """Close a change that ran, with its audit row and history, in one transaction;
        False when this instance no longer holds it."""
        target, provider = change.target, change.target.provider
        async with self._store.transaction():
            if not await self._store.operations.finish(
                operation_id, status, owner=self._leases.owner, url=result.url, reason=result.reason
            ):
                return False
            await audit.record(
                self._store,
                change.actor,
                change.action,
                target.audit_name,
                _STATUS_AUDIT[status],
                result.reason,
                provider=provider.name,
                url=result.url,
                requested_by=change.requester.user_id if change.requester else None,
            )
            await self._picture_history.settle(operation_id, change, result)
        return True

    async def _no_newer(self, operation_id: int, change: Change) -> None:
        """A change never overwrites a newer one for its target: resumed, retried or taken
        over, it ends superseded when a change asked after it is done or at a provider."""
        group = change.target.group
        newer = await self._store.operations.newer_under_way(
            operation_id,
            change.target.provider.name,
            change.target.audit_name,
            group.id if group is not None else None,
        )
        if newer is not None:
            raise _Superseded(newer)

    async def _call(self, change: Change) -> PictureResult:
        provider, picture, group = change.target.provider, change.picture, change.target.group
        if picture is not None and provider.can(Capability.NEEDS_PUBLIC_URL):
            if self._media is None:  # start-up refuses this configuration; a bug if reached
                raise RuntimeError(f"{provider.name} needs server.public_url")
            picture = picture.with_public_url(await self._media.publish_async(picture.jpeg))
        with self._metrics.provider_call(provider.name, change.action.value):
            if change.action is Action.DELETE_GROUP_PICTURE and group is not None:
                return await provider.delete_group_picture(group.chat_id)
            if picture is None:  # written down with its picture, or fetched before it is queued
                raise RuntimeError(f"a {change.action.value} without a picture")
            if change.action is Action.SET_GROUP_PICTURE and group is not None:
                return await provider.set_group_picture(group.chat_id, picture)
            return await provider.set_own_picture(picture)

    async def _close_unrun(
        self, operation_id: int, status: OperationStatus, reason: str, title: str
    ) -> Outcome:
        """Close a change that will not run (replaced, cancelled, refused, or not resumable)
        with its audit row, in one transaction (waiting for the store, when it is away)."""
        closed = await until_back(lambda: self._write_unrun(operation_id, status, reason))
        if closed is None:  # another instance took it over meanwhile, and closes it
            return Outcome(Result.DUPLICATE, title)
        self._metrics.change_ended(closed.provider, closed.action, status.value)
        return Outcome(_STATUS_RESULT[status], title, reason=reason)

    async def _write_unrun(
        self, operation_id: int, status: OperationStatus, reason: str
    ) -> Operation | None:
        """The closing transaction of `_close_unrun`; the operation it closed, or None."""
        async with self._store.transaction():
            operation = await self._store.operations.get(operation_id)
            assert operation is not None
            if not await self._store.operations.finish(
                operation_id, status, owner=self._leases.owner, reason=reason
            ):
                return None
            await audit.record(
                self._store,
                operation.actor,
                operation.action,
                operation.target,
                _STATUS_AUDIT[status],
                reason,
                provider=operation.provider,
                requested_by=operation.requester_id,
            )
        return operation

    async def _rebuild(self, operation: Operation) -> Change | tuple[OperationStatus, str]:
        """The change an open operation describes, or why it can no longer run: its provider
        or group is gone, or its actor may no longer make it (checked now, as at a press; the
        guard's putting back acts on the group's policy, not on anyone's rights)."""
        action = Action(operation.action)
        provider = self._providers.get(operation.provider)
        if provider is None:
            return (
                OperationStatus.FAILED,
                texts.provider_not_configured(operation.provider),
            )
        group = None
        if operation.target.startswith(ACCOUNT_PREFIX):
            target = Target.account(provider)
        else:
            group = (
                await self._store.groups.by_id(operation.group_id) if operation.group_id else None
            )
            if group is None or group.provider != operation.provider:
                return (
                    OperationStatus.CANCELLED,
                    texts.group_not_served(operation.target, provider.name),
                )
            target = Target(provider=provider, title=group.title, group=group)
        if operation.actor != GUARD and not await self._access.may(
            operation.actor_id, action, group
        ):
            return (
                OperationStatus.REFUSED,
                texts.may_no_longer(operation.actor_name, action, target.title),
            )
        picture = None
        if operation.jpeg is not None and operation.side is not None:
            picture = PreparedPicture(operation.jpeg, operation.side)
        if picture is None and action is not Action.DELETE_GROUP_PICTURE and not operation.file_id:
            return OperationStatus.FAILED, texts.PICTURE_LOST
        return Change(
            action,
            target,
            operation.actor,
            picture,
            operation.requester,
            how=operation.how,
            bulk_id=operation.bulk_id,
        )

    def _report_later(self, operation: Operation, outcome: Awaitable[Outcome]) -> None:
        async def report() -> None:
            await self._report_resumed(operation, await outcome)

        task = asyncio.create_task(report())
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _report_resumed(self, operation: Operation, outcome: Outcome) -> None:
        if outcome.result is Result.DUPLICATE:  # another run holds it (or it was handed back)
            return
        await self._tell(operation, replace(outcome, resumed=True))

    async def _tell(self, operation: Operation, outcome: Outcome) -> None:
        try:
            await self._report(operation, outcome)
        except Exception:  # the user blocked the bot, the message is gone...
            log.warning("could not report how change %s ended", operation.id, exc_info=True)


def _awaiting(awaited: Awaited, clock: Clock) -> _Awaiting:
    return _Awaiting(awaited.request_id, clock.now() + timedelta(seconds=awaited.within_seconds))


def _every_job(job: Job) -> bool:
    return True


def _log_fields(operation_id: int, change: Change) -> dict[str, object]:
    group = change.target.group
    return {
        "change_id": operation_id,
        "provider": change.target.provider.name,
        **({"group": group.alias} if group is not None else {}),
    }


def _operation(change: Change, progress: Progress, photo: PhotoSource | None) -> Operation:
    requester, group = change.requester, change.target.group
    return Operation(
        action=change.action.value,
        target=change.target.audit_name,
        provider=change.target.provider.name,
        actor_id=change.actor.user_id,
        actor_name=change.actor.name,
        actor_chat_id=change.actor.chat_id,
        requester_id=requester.user_id if requester else None,
        requester_name=requester.name if requester else None,
        requester_chat_id=requester.chat_id if requester else None,
        request_key=progress.request_key,
        reply_chat_id=progress.reply.chat_id if progress.reply else None,
        reply_message_id=progress.reply.message_id if progress.reply else None,
        jpeg=change.picture.jpeg if change.picture else None,
        side=change.picture.side if change.picture else None,
        group_id=group.id if group else None,
        file_id=photo.file_id if photo and change.picture is None else None,
        how=change.how,
        bulk_id=change.bulk_id,
    )
