"""Approve / Reject presses on a requester's proposal. Every press is answered."""

from __future__ import annotations

from telegram import Message, ReplyParameters, Update
from telegram.ext import ContextTypes

from bot import texts
from bot.approvals import Claim, Verdict
from bot.domain import Action
from bot.i18n import Text, cut
from handlers.callbacks import Decision
from handlers.common import presser, query_of, services_of
from handlers.replies import ANONYMOUS, outcome_text, sorry, tr


async def decision_pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, preview: Message, decision: Decision
) -> None:
    """A press on Approve / Reject of the proposal `preview` shows."""
    query = query_of(update)
    actor = await presser(update, ANONYMOUS)
    if actor is None:
        return
    approvals = (await services_of(context).use_cases()).approvals
    claim = await approvals.claim(actor, decision.proposal_id, approve=decision.approve)
    if not claim.won:
        await query.answer(tr(_not_yours(claim)), show_alert=True)
        return
    approved = claim.verdict is Verdict.APPROVED
    await query.answer(tr(texts.APPROVED_NOW if approved else texts.REJECTED_NOW))
    outcome = await approvals.carry_out(claim)
    if outcome is not None and claim.proposal is not None:
        # the approver hears the outcome under the proposal they pressed
        await context.bot.send_message(
            actor.chat_id,
            tr(outcome_text(Action(claim.proposal.action), outcome)),
            reply_parameters=ReplyParameters(preview.message_id, allow_sending_without_reply=True),
        )


def _not_yours(claim: Claim) -> Text:
    """Why this press decided nothing (at most 200 characters: an alert)."""
    proposal = claim.proposal
    if claim.verdict is Verdict.NOT_ALLOWED:
        return cut(sorry(claim.reason), 200)
    if claim.verdict is Verdict.EXPIRED:
        return texts.EXPIRED_ALERT
    if claim.verdict is Verdict.ALREADY_DECIDED and proposal is not None:
        decider = texts.who(proposal.decided_by_name or "", proposal.decided_by or 0)
        return cut(texts.already(proposal.status, decider), 200)
    return texts.NO_SUCH_PROPOSAL
