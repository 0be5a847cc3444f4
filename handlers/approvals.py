"""Approve / Reject presses on a requester's proposal. Every press is answered."""

from __future__ import annotations

from telegram import Message, ReplyParameters, Update
from telegram.ext import ContextTypes

from bot.approvals import Claim, Verdict
from bot.domain import Action, ProposalStatus
from handlers.callbacks import Decision
from handlers.common import actor_of, query_of, services_of
from handlers.replies import ANONYMOUS, outcome_text, sentence


async def decision_pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, preview: Message, decision: Decision
) -> None:
    """A press on Approve / Reject of the proposal `preview` shows."""
    query = query_of(update)
    actor = actor_of(update)
    if actor is None:
        await query.answer(ANONYMOUS, show_alert=True)
        return
    approvals = (await services_of(context).use_cases()).approvals
    claim = await approvals.claim(actor, decision.proposal_id, approve=decision.approve)
    if not claim.won:
        await query.answer(_not_yours(claim), show_alert=True)
        return
    approved = claim.verdict is Verdict.APPROVED
    await query.answer("Approved: making the change now." if approved else "Rejected.")
    outcome = await approvals.carry_out(claim)
    if outcome is not None and claim.proposal is not None:
        # the approver hears the outcome under the proposal they pressed
        await context.bot.send_message(
            actor.chat_id,
            outcome_text(Action(claim.proposal.action), outcome),
            reply_parameters=ReplyParameters(preview.message_id, allow_sending_without_reply=True),
        )


def _not_yours(claim: Claim) -> str:
    """Why this press decided nothing (at most 200 characters: an alert)."""
    proposal = claim.proposal
    if claim.verdict is Verdict.NOT_ALLOWED:
        return sentence(f"Sorry, {claim.reason}")[:200]
    if claim.verdict is Verdict.EXPIRED:
        return "This proposal expired before anyone decided it; nothing was changed."
    if claim.verdict is Verdict.ALREADY_DECIDED and proposal is not None:
        verb = "approved" if proposal.status is ProposalStatus.APPROVED else "rejected"
        decider = f"{proposal.decided_by_name} ({proposal.decided_by})"
        return f"Already {verb} by {decider}."[:200]
    return "I know no such proposal."
