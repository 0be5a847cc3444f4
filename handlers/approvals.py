"""Approve / Reject presses on a requester's proposal. Every press is answered."""

from __future__ import annotations

from telegram import Message, ReplyParameters, Update
from telegram.ext import ContextTypes

from bot import texts
from bot.approvals import Claim, Verdict
from bot.domain import Action
from bot.i18n import Text, cut, joined
from handlers.callbacks import Decision
from handlers.common import presser, query_of, services_of
from handlers.replies import ANONYMOUS, outcome_text, sorry, tr


async def decision_pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, preview: Message, decision: Decision
) -> None:
    """A press on Approve / Reject of the proposal (one group or a list) `preview` shows."""
    query = query_of(update)
    actor = await presser(update, ANONYMOUS)
    if actor is None:
        return
    approvals = (await services_of(context).use_cases()).approvals
    claim = await approvals.claim(actor, decision.proposal_id, approve=decision.approve)
    answer = _answer(claim)
    if claim.gone:
        answer = joined(" ", [answer, texts.gone_named(", ".join(claim.gone))])
    await query.answer(tr(cut(answer, 200)), show_alert=not claim.won or bool(claim.gone))
    if not claim.won:
        return
    outcome = await approvals.carry_out(claim)
    if outcome is not None and claim.proposal is not None:
        # the approver hears the outcome under the proposal they pressed
        await context.bot.send_message(
            actor.chat_id,
            tr(outcome_text(Action(claim.proposal.action), outcome)),
            reply_parameters=ReplyParameters(preview.message_id, allow_sending_without_reply=True),
        )


def _answer(claim: Claim) -> Text:
    """What the press did (an alert when it decided nothing)."""
    proposal = claim.proposal
    if claim.verdict is Verdict.TOO_LATE:
        return texts.TOO_LATE_ALERT
    if claim.verdict is Verdict.NOT_ALLOWED:
        return sorry(claim.reason)
    if proposal is not None and proposal.listed:
        who = texts.who(proposal.decided_by_name or "", proposal.decided_by or 0)
        return texts.bulk_decision(claim.verdict.value, who, claim.scheduled)
    if claim.verdict is Verdict.APPROVED:
        return texts.APPROVED_NOW
    if claim.verdict is Verdict.REJECTED:
        return texts.REJECTED_NOW
    if claim.verdict is Verdict.EXPIRED:
        return texts.EXPIRED_ALERT
    if claim.verdict is Verdict.ALREADY_DECIDED and proposal is not None:
        decider = texts.who(proposal.decided_by_name or "", proposal.decided_by or 0)
        return texts.already(proposal.status, decider)
    return texts.NO_SUCH_PROPOSAL
