"""Delegation as tools for an LLM that can call them (Anthropic): what the rules missed.

The rules and the classifier (`decision.py`) decide first, with no network, in the LLM stage's
fixed reply. Words they let through go to the model; with delegation on and a model that takes
tools, it is offered three tools that mirror the policy's intents:

- `start_task(request, kind?)`: hand a long errand to the harness (the policy's "delegate");
- `task_status()`: how the caller's task is going ("status");
- `cancel_task()`: cancel it ("cancel").

A call is mapped here to the same `Reply` the rules' decision gets from the policy
(`DelegationPolicy.reply_for`): its text is what the agent speaks (the acknowledgement, the
task's state), and its actions (send, cancel, reported) wait for the turn's commit in the
delegator, so a speculative turn that is discarded starts nothing. The request sent to the
harness is the model's restatement (it can fold in earlier turns: "yes, do that"), or the
caller's words when it gave none.

The definitions are fixed for the process: the model's prompt cache keeps them with the
system prompt (voice/providers/cloud/anthropic_llm.py).
"""

from __future__ import annotations

import logging

from voice.delegate.decision import Decision, Intent
from voice.delegate.policy import DelegationPolicy, Reply
from voice.providers.base import Tool, ToolCall

log = logging.getLogger(__name__)

START_TASK = "start_task"
TASK_STATUS = "task_status"
CANCEL_TASK = "cancel_task"
KINDS = ("booking", "research", "filing", "ordering", "scheduling", "contact")
NO_TASK = "You have no task with me at the moment."

TOOLS: tuple[Tool, ...] = (
    Tool(
        START_TASK,
        "Hand a long errand to the background task service, which does it over the next "
        "minutes while the call goes on, and reports back: booking or reserving something, "
        "ordering or buying, research that takes looking around, filing a claim or a form, "
        "scheduling or rescheduling, contacting a person or a business for the caller. Use it "
        "whenever the caller asks you to get such a thing done, however they put it, instead "
        "of saying you cannot. Not for questions you can answer in words now. The agent tells "
        "the caller it is on it; you need not.",
        {
            "type": "object",
            "properties": {
                "request": {
                    "type": "string",
                    "description": "The errand, complete enough for someone who did not hear "
                    "the call: what, for whom, when, where, any limits the caller gave.",
                },
                "kind": {
                    "type": "string",
                    "enum": list(KINDS),
                    "description": "What sort of errand it is.",
                },
            },
            "required": ["request"],
        },
    ),
    Tool(
        TASK_STATUS,
        "Tell the caller how the errand they handed over is going (started, in progress, "
        "done, failed). Use it when they ask about their task, booking, order or request.",
        {"type": "object", "properties": {}},
    ),
    Tool(
        CANCEL_TASK,
        "Cancel the caller's unfinished errand. Use it when they call off the task they "
        "handed over (not when they ask you to cancel something in the world, such as a "
        "subscription: that is a new errand for start_task).",
        {"type": "object", "properties": {}},
    ),
)


def reply_to_call(policy: DelegationPolicy, call: ToolCall, words: str) -> Reply | None:
    """The policy's reply to a tool call in the turn on `words`; None for a tool not ours."""
    if call.name == START_TASK:
        given, kind = call.input.get("request"), call.input.get("kind")
        request = given.strip() if isinstance(given, str) else ""
        decision = Decision("delegate", kind if kind in KINDS else "")
        return policy.reply_for(decision, request or words)
    if call.name in (TASK_STATUS, CANCEL_TASK):
        intent: Intent = "status" if call.name == TASK_STATUS else "cancel"
        return policy.reply_for(Decision(intent), words) or Reply(NO_TASK)
    log.warning("the model called an unknown tool %r", call.name)
    return None
