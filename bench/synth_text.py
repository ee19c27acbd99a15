"""What the synthetic users say: requests a voice assistant hears, plus overlay phrases.

Kept apart from the generator so the wording can grow without touching the audio code. Turn
phrases avoid internal commas on purpose: a comma makes a TTS voice pause, and an unlisted
pause inside a phrase would be a mid-turn hold that the manifest does not know about.

Every turn phrase also ends in a vowel, a nasal or a liquid ("evening", "Rome", "little"),
never in a stop or a hiss ("joke", "euros"). A final stop is a silent closure followed by a
faint burst up to 100 ms later, and a final hiss fades into any background noise; in both the
end of speech is ambiguous, and a VAD (Silero included) ends the speech well before the last
sample. Sonorant endings make the computed end of speech unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TurnText:
    """One user turn. Several phrases mean the speaker pauses between them (holds)."""

    topic: str
    phrases: tuple[str, ...]

    @property
    def transcript(self) -> str:
        """The reference transcript: phrases joined the way they are spoken."""
        return ", ".join(self.phrases)

    def spoken(self, index: int) -> str:
        """The text handed to the TTS for one phrase.

        Non-final phrases end in a comma so the voice uses a continuing (not a final) contour,
        the way people sound when they pause to think mid-request.
        """
        phrase = self.phrases[index]
        return phrase if index == len(self.phrases) - 1 else phrase + ","


def _single(topic: str, text: str) -> TurnText:
    return TurnText(topic, (text,))


# Single-phrase turns: short (2-3 words), medium and long (15+ words).
SINGLE_TURNS: tuple[TurnText, ...] = (
    _single("music", "Next song."),
    _single("music", "Play the new album."),
    _single("lights", "Lights on."),
    _single("alarm", "Cancel my alarm."),
    _single("story", "Tell me a story."),
    _single("taxi", "Call a taxi."),
    _single("weather", "What is the weather in Rome?"),
    _single("timer", "Set a ten minute timer."),
    _single("trivia", "What's the capital of Australia?"),
    _single("recipe", "How long should I boil an egg for?"),
    _single("reminder", "Remind me to call my mother tomorrow morning."),
    _single("directions", "How do I get to the train station from here?"),
    _single("trivia", "Who wrote the novel Jane Eyre?"),
    _single("shopping", "Add eggs and milk to my list for tomorrow."),
    _single("currency", "Convert fifty dollars into yen."),
    _single("hours", "What time does the pharmacy close today?"),
    _single("alarm", "Wake me up at six thirty tomorrow."),
    _single("calendar", "What's on my calendar this afternoon?"),
    _single("home", "Turn the living room heating up a little."),
    _single("trivia", "How far away is the moon?"),
    _single(
        "recipe",
        "Can you find me a recipe for chicken curry that takes less than thirty minutes "
        "to make in the evening?",
    ),
    _single(
        "booking",
        "I would like to book a table for two people at an Italian restaurant near the "
        "city centre tomorrow evening.",
    ),
    _single(
        "directions",
        "What is the fastest way to drive from here to the airport if I want to avoid "
        "the motorway in the morning?",
    ),
    _single(
        "weather",
        "Is it going to rain in Seattle this weekend or should I plan the picnic for "
        "Saturday afternoon after all?",
    ),
    _single(
        "trivia",
        "Can you explain in simple words why the sky looks blue during the day and red "
        "in the evening?",
    ),
    _single(
        "travel",
        "Find me a cheap hotel near the airport for Friday night with free parking and "
        "a late check in.",
    ),
)

# Multi-phrase turns: the speaker stops between phrases, so each gap is a hold.
HOLD_TURNS: tuple[TurnText, ...] = (
    TurnText("booking", ("I'd like to book a table", "for four people", "on Saturday evening.")),
    TurnText("alarm", ("Set an alarm for", "seven in the morning.")),
    TurnText("recipe", ("I need a recipe", "something with chicken", "that is easy to follow.")),
    TurnText("directions", ("How do I get to", "the nearest petrol station?")),
    TurnText("weather", ("What will the weather be", "tomorrow morning in London?")),
    TurnText("music", ("Play something relaxing", "maybe something by Chopin.")),
    TurnText("trivia", ("Who was the leader of Germany", "in nineteen ninety?")),
    TurnText("reminder", ("Remind me to water the garden", "later this evening.")),
    TurnText("shopping", ("Add bread to my order", "and also some butter", "and a pot of cream.")),
    TurnText(
        "travel", ("I need a flight to Berlin", "leaving on Monday", "and coming back Friday.")
    ),
    TurnText("calendar", ("Move my meeting with Anna", "to next Thursday afternoon.")),
    TurnText("messages", ("Send a message to Anna", "saying I am on my way.")),
    TurnText("home", ("Switch off the television", "and lock the front door.")),
    TurnText("trivia", ("How many people", "live in New York City?")),
)

# (transcript, text for the TTS): some interjections need a spelling the voices say right.
BACKCHANNELS: tuple[tuple[str, str], ...] = (
    ("yeah", "Yeah."),
    ("mm-hmm", "Um hum."),
    ("right", "Right."),
    ("okay", "Okay."),
    ("uh-huh", "Uh huh."),
    ("I see", "I see."),
)

BARGE_INS: tuple[str, ...] = (
    "Wait, stop, that's not what I asked.",
    "Hold on, no.",
    "Sorry, can you stop?",
    "No no, that's wrong.",
    "Stop, stop.",
    "Actually, cancel that.",
    "Hang on a second.",
    "Excuse me, I meant tomorrow.",
)
