"""Running accepted picture changes so that none is lost, repeated wrongly or stuck.

Every change is written to the store (with its prepared JPEG) before it runs; it runs in its
provider account's queue, at that account's pace, retried while the failure can pass; it is
closed together with its audit row. On start-up, changes a crash left open are resumed (setting
and removing a picture are idempotent), or failed when they are too old. A newer change for the
same target replaces one still waiting: the newer picture wins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from adapters import Capability, PictureResult, PreparedPicture, Provider
from bot.media import MediaStore
from bot.notify import Actor, ChangeEvent, Notifier
from bot.permissions import Action
from bot.queues import AccountQueue, Job
from bot.retry import RetryPolicy, with_retries
from bot.store import AuditEntry, Group, Operation, OperationStatus, Store

log = logging.getLogger(__name__)

ACCOUNT_PREFIX = "account:"


@dataclass(frozen=True)
class Target:
    """What a change is about: a group, or the account of one provider."""

    provider: Provider
    title: str
    group: Group | None = None
    #: the actor may only propose this change; the group's admins decide
    needs_approval: bool = False

    @classmethod
    def account(cls, provider: Provider) -> Target:
        return cls(provider=provider, title=f"the WhatsApp account ({provider.name})")

    @property
    def audit_name(self) -> str:
        return self.group.alias if self.group else f"{ACCOUNT_PREFIX}{self.provider.name}"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    target: str
    url: str | None = None
    #: why it failed, or a remark on a success
    reason: str | None = None
    #: refused before any provider call (nothing was changed)
    refused: bool = False
    #: the change was proposed for approval (not made); its proposal's id
    proposal: int | None = None
    #: a newer change for the same target replaced this one before it ran
    superseded: bool = False
    #: finished after the bot restarted
    resumed: bool = False


@dataclass(frozen=True)
class MessageRef:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class Progress:
    """Where a change's answer is shown, what asked for it, and how to say it must wait."""

    reply: MessageRef | None = None
    #: "<chat id>:<message id>" of the request: a redelivered update must not run it twice
    request_key: str | None = None
    queued: Callable[[int], Awaitable[object]] | None = None


@dataclass(frozen=True)
class Change:
    action: Action
    target: Target
    actor: Actor
    picture: PreparedPicture | None
    #: who proposed it, when `actor` approved it
    requester: Actor | None = None


@dataclass(frozen=True)
class _Finished:
    """What a queued job ends with: the outcome, and the notice to send once the account's
    queue has moved on (notices must not hold up the account's next change)."""

    outcome: Outcome
    notice: ChangeEvent | None = None


#: tells the person who asked how a change they no longer wait for ended (after a restart)
Report = Callable[[Operation, Outcome], Awaitable[object]]


class ChangeRunner:
    def __init__(
        self,
        *,
        store: Store,
        providers: dict[str, Provider],
        notifier: Notifier,
        media: MediaStore | None,
        policy: RetryPolicy,
        max_resume_age: timedelta,
        report: Report,
    ) -> None:
        self._store = store
        self._providers = providers
        self._notifier = notifier
        self._media = media
        self._policy = policy
        self._max_resume_age = max_resume_age
        self._report = report
        self._queues = {
            name: AccountQueue(
                {
                    "group": provider.settings.group_interval_seconds,
                    "own": provider.settings.own_interval_seconds,
                }
            )
            for name, provider in providers.items()
        }
        #: the operation each queued job runs, and what it changes
        self._jobs: dict[Job, tuple[int, Change]] = {}
        self._reports: set[asyncio.Task[None]] = set()

    async def submit(self, change: Change, progress: Progress | None = None) -> Outcome:
        """Write the change down, queue it, and wait for its outcome."""
        progress = progress or Progress()
        operation_id = await self._store.add_operation(_operation(change, progress))
        job, ahead = await self._enqueue(operation_id, change)
        if ahead and progress.queued is not None:
            await progress.queued(ahead)
        return await self._finished(job)

    async def already_requested(self, request_key: str) -> bool:
        return await self._store.operation_for_request(request_key) is not None

    async def resume(self) -> None:
        """Take up the changes a crash or a stop left open; the oldest first."""
        now = datetime.now(UTC)
        for operation in await self._store.open_operations():
            age = now - datetime.fromisoformat(operation.created_at)
            change = await self._rebuild(operation)
            if isinstance(change, str) or age > self._max_resume_age:
                reason = (
                    change
                    if isinstance(change, str)
                    else (
                        f"it was not resumed after a restart: it was older than"
                        f" {self._max_resume_age.total_seconds() / 60:g} minutes; send it again"
                    )
                )
                outcome = await self._close_unrun(operation, OperationStatus.FAILED, reason)
                await self._report_resumed(operation, outcome)
                continue
            job, _ = await self._enqueue(operation.id, change)
            self._report_later(operation, self._finished(job))

    async def close(self) -> None:
        """Stop the queues; what did not finish stays open in the store and resumes later."""
        for queue in self._queues.values():
            await queue.close()
        for task in list(self._reports):
            task.cancel()

    # ------------------------------------------------------------------------------------------

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
            reason = f"{change.actor.name} sent a newer change for {change.target.title}"
            outcome = await self._close_unrun(
                await self._store.operation(older_id),
                OperationStatus.SUPERSEDED,
                reason,
                title=older.target.title,
            )
            replaced.future.set_result(_Finished(outcome))
        return job, submitted.ahead

    async def _finished(self, job: Job) -> Outcome:
        """Wait for a job, then send its notice (the account's queue has moved on by then)."""
        finished: _Finished = await job.future
        if finished.notice is not None:
            await self._notifier.change_executed(finished.notice)
        return finished.outcome

    async def _run(self, operation_id: int, change: Change) -> _Finished:
        async def attempt() -> PictureResult:
            await self._store.start_attempt(operation_id)
            return await self._call(change)

        result = (await with_retries(attempt, self._policy)).result
        target, provider = change.target, change.target.provider
        await self._notifier.provider_answered(provider.name, result)
        await self._store.finish_operation(
            operation_id,
            OperationStatus.DONE if result.ok else OperationStatus.FAILED,
            AuditEntry(
                user_id=change.actor.user_id,
                chat_id=change.actor.chat_id,
                action=change.action.value,
                target=target.audit_name,
                provider=provider.name,
                outcome="done" if result.ok else "failed",
                reason=result.reason,
                url=result.url,
                requested_by=change.requester.user_id if change.requester else None,
            ),
            url=result.url,
            reason=result.reason,
        )
        return _Finished(
            Outcome(ok=result.ok, target=target.title, url=result.url, reason=result.reason),
            ChangeEvent(
                actor=change.actor,
                action=change.action,
                alias=target.group.alias if target.group else None,
                target=target.title,
                provider=provider.name,
                result=result,
                requester=change.requester,
            ),
        )

    async def _call(self, change: Change) -> PictureResult:
        provider, picture = change.target.provider, change.picture
        if picture is not None and provider.can(Capability.NEEDS_PUBLIC_URL):
            if self._media is None:  # start-up refuses this configuration; a bug if reached
                raise RuntimeError(f"{provider.name} needs server.public_url")
            picture = picture.with_public_url(self._media.publish(picture.jpeg))
        group = change.target.group
        if change.action is Action.SET_GROUP_PICTURE:
            return await provider.set_group_picture(group.chat_id, picture)
        if change.action is Action.DELETE_GROUP_PICTURE:
            return await provider.delete_group_picture(group.chat_id)
        return await provider.set_own_picture(picture)

    async def _close_unrun(
        self,
        operation: Operation,
        status: OperationStatus,
        reason: str,
        *,
        title: str | None = None,
    ) -> Outcome:
        """Close a change that will not run (replaced, or too old to resume), with its audit."""
        await self._store.finish_operation(
            operation.id,
            status,
            AuditEntry(
                user_id=operation.actor_id,
                chat_id=operation.actor_chat_id,
                action=operation.action,
                target=operation.target,
                provider=operation.provider,
                outcome=status.value,
                reason=reason,
                requested_by=operation.requester_id,
            ),
            reason=reason,
        )
        return Outcome(
            ok=False,
            target=title or operation.target,
            reason=reason,
            superseded=status is OperationStatus.SUPERSEDED,
        )

    async def _rebuild(self, operation: Operation) -> Change | str:
        """The change an open operation describes, or why it can no longer run."""
        provider = self._providers.get(operation.provider)
        if provider is None:
            return f"its provider {operation.provider} is no longer configured"
        if operation.target.startswith(ACCOUNT_PREFIX):
            target = Target.account(provider)
        else:
            group = await self._store.group(operation.target)
            if group is None or group.provider != operation.provider:
                return f"the group {operation.target} is no longer served by {provider.name}"
            target = Target(provider=provider, title=group.title, group=group)
        requester = None
        if operation.requester_id is not None:
            requester = Actor(
                operation.requester_id, operation.requester_chat_id, operation.requester_name
            )
        picture = PreparedPicture(operation.jpeg, operation.side) if operation.jpeg else None
        return Change(
            action=Action(operation.action),
            target=target,
            actor=Actor(operation.actor_id, operation.actor_chat_id, operation.actor_name),
            picture=picture,
            requester=requester,
        )

    def _report_later(self, operation: Operation, outcome: Awaitable[Outcome]) -> None:
        async def report() -> None:
            await self._report_resumed(operation, await outcome)

        task = asyncio.create_task(report())
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _report_resumed(self, operation: Operation, outcome: Outcome) -> None:
        try:
            await self._report(operation, replace(outcome, resumed=True))
        except Exception:  # the user blocked the bot, the message is gone...
            log.warning("could not report resumed change %s", operation.id, exc_info=True)


def _operation(change: Change, progress: Progress) -> Operation:
    requester = change.requester
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
    )
