"""The delegation policy, sans-IO: words, task updates and time in; replies and utterances out."""

from __future__ import annotations

from voice.delegate.policy import ACKNOWLEDGEMENT, DelegationPolicy, spoken_form

MS = 1_000_000
BOOK = "Book a table for two at an Italian restaurant tomorrow at seven."


def started(policy: DelegationPolicy) -> int:
    reply = policy.reply_to(BOOK)
    assert reply is not None and reply.send is not None
    key = policy.committed(reply)
    assert key is not None
    policy.on_update(key, 0, "submitted", task_id="t-1")
    return key


def test_a_long_task_is_acknowledged_at_once_and_sent_only_when_the_turn_commits() -> None:
    policy = DelegationPolicy()
    reply = policy.reply_to(BOOK)
    assert reply is not None
    assert reply.text == ACKNOWLEDGEMENT
    assert reply.send == (BOOK, "booking")
    assert policy.tasks == {}  # a speculation may still be discarded: nothing is started yet
    key = policy.committed(reply)
    assert key is not None and policy.tasks[key].request == BOOK


def test_an_ordinary_turn_is_left_to_the_llm() -> None:
    policy = DelegationPolicy()
    assert policy.reply_to("What time does the restaurant open?") is None
    assert policy.reply_to("How is it going?") is None  # no task to talk about


def test_the_result_waits_while_the_caller_speaks_and_is_spoken_at_the_gap() -> None:
    policy = DelegationPolicy(gap_ms=500)
    key = started(policy)
    policy.on_update(key, 1000 * MS, "completed", result="Table for two at 7 pm at Luigi's.")
    # the caller is speaking: nothing, however long it lasts
    for now in range(1000, 4000, 20):
        assert policy.tick(now * MS, idle=False) is None
    # quiet: not before the gap, then at once
    assert policy.tick(4000 * MS, idle=True) is None
    assert policy.tick(4480 * MS, idle=True) is None
    utterance = policy.tick(4500 * MS, idle=True)
    assert utterance is not None and utterance.final
    assert utterance.text == "Your booking is done: Table for two at 7 pm at Luigi's."
    assert policy.tick(5200 * MS, idle=True) is None  # said once
    assert not policy.quiet  # until it was heard
    assert policy.spoken(utterance, heard=True) == key
    assert policy.quiet


def test_a_result_spoken_while_the_caller_was_silent_goes_out_one_gap_after_completion() -> None:
    policy = DelegationPolicy(gap_ms=500)
    key = started(policy)
    for now in range(0, 3000, 20):
        assert policy.tick(now * MS, idle=True) is None
    policy.on_update(key, 3000 * MS, "completed", result="Booked.")
    assert policy.tick(3000 * MS, idle=True) is not None  # the caller was already quiet


def test_a_result_the_caller_talked_over_is_said_again_at_the_next_gap() -> None:
    policy = DelegationPolicy(gap_ms=500)
    key = started(policy)
    policy.on_update(key, 0, "completed", result="Booked.")
    policy.tick(0, idle=True)
    first = policy.tick(500 * MS, idle=True)
    assert first is not None
    assert policy.tick(600 * MS, idle=True) is None  # one utterance at a time
    assert policy.spoken(first, heard=False) is None
    assert policy.tick(700 * MS, idle=False) is None
    policy.tick(800 * MS, idle=True)
    again = policy.tick(1300 * MS, idle=True)
    assert again is not None and again.text == first.text


def test_progress_is_spoken_at_a_gap_at_most_every_progress_interval() -> None:
    policy = DelegationPolicy(gap_ms=0, progress_every_ms=5000)
    key = started(policy)
    policy.on_update(key, 0, "working", message="Calling the restaurant.")
    said = policy.tick(0, idle=True)
    assert said is not None and not said.final
    assert said.text == "An update on your booking: Calling the restaurant."
    policy.spoken(said, heard=True)
    policy.on_update(key, 1000 * MS, "working", message="On hold.")
    assert policy.tick(1000 * MS, idle=True) is None  # too soon after the last one
    policy.on_update(key, 6000 * MS, "working", message="They have a table at seven.")
    later = policy.tick(6000 * MS, idle=True)
    assert later is not None and "seven" in later.text


def test_an_update_still_being_spoken_when_the_task_ends_gives_way_to_the_outcome() -> None:
    policy = DelegationPolicy(gap_ms=500)
    key = started(policy)
    policy.on_update(key, 0, "working", message="Calling the restaurant.")
    policy.tick(0, idle=True)
    update = policy.tick(500 * MS, idle=True)
    assert update is not None and not policy.superseded(update)
    policy.on_update(key, 800 * MS, "completed", message="Booked for seven.")
    assert policy.superseded(update)  # the session cuts it
    policy.spoken(update, heard=False)
    policy.tick(900 * MS, idle=True)
    outcome = policy.tick(1400 * MS, idle=True)  # one gap later
    assert outcome is not None and outcome.final and "Booked for seven" in outcome.text
    assert not policy.superseded(outcome)


def test_how_is_it_going_is_answered_from_the_task_state() -> None:
    policy = DelegationPolicy(speak_progress=False)
    key = started(policy)
    reply = policy.reply_to("How is it going?")
    assert reply is not None and reply.text == "Your booking has just started; nothing back yet."
    policy.on_update(key, 0, "working", message="Calling the restaurant.")
    reply = policy.reply_to("Any update?")
    assert reply is not None
    assert reply.text == "Your booking is still in progress: Calling the restaurant."
    policy.on_update(key, 0, "completed", result="Table at seven.")
    reply = policy.reply_to("Is it done?")
    assert reply is not None and reply.text == "Your booking is done: Table at seven."
    policy.committed(reply)  # the caller heard the outcome in the answer: not said again
    assert policy.tick(10_000 * MS, idle=True) is None
    assert policy.quiet


def test_cancel_that_cancels_the_running_task_and_its_end_is_not_announced() -> None:
    policy = DelegationPolicy(gap_ms=0)
    key = started(policy)
    reply = policy.reply_to("Actually, cancel that.")
    assert reply is not None and reply.cancel == key
    assert reply.text == "Okay, I've cancelled the booking."
    policy.committed(reply)
    policy.on_update(key, 0, "canceled")
    assert policy.tick(0, idle=True) is None
    assert policy.quiet
    finished = policy.reply_to("Cancel it.")
    assert finished is not None and finished.cancel is None
    assert finished.text == "Your booking is already cancelled."


def test_a_failed_task_is_reported_with_its_reason() -> None:
    policy = DelegationPolicy(gap_ms=0)
    key = started(policy)
    policy.on_update(key, 0, "failed", message="The restaurant is closed tomorrow.")
    said = policy.tick(0, idle=True)
    assert said is not None
    assert said.text == "Sorry, your booking didn't work out: The restaurant is closed tomorrow."


def test_late_events_after_the_end_change_nothing() -> None:
    policy = DelegationPolicy(gap_ms=0)
    key = started(policy)
    policy.on_update(key, 0, "completed", result="Booked.")
    policy.on_update(key, 0, "working", message="Still going?")
    assert policy.tasks[key].state == "completed"


def test_a_long_result_is_cut_at_a_sentence_end() -> None:
    text = "First sentence here. " * 30
    spoken = spoken_form(text)
    assert len(spoken) <= 300 and spoken.endswith("here.")
