"""What every agent in a benchmark gets alike: the warm-up policy and the system prompt.

Kept apart from the agents themselves (and free of heavy imports) so that the results, the
peers and the tests all read the one definition.
"""

from __future__ import annotations

from voice.config import Config
from voice.providers.llm_profiles import prompt_name
from voice.providers.prompts import PROMPTS

# One warm-up policy for every agent, so that none pays for first-inference set-up in a
# measured turn and none gets a cache another agent left warm. At start, once per agent:
# each model the agent loads once per process (STT, TTS, VAD, end-of-turn model where it is
# shared) runs one inference (STT and VAD on 0.5 s of silence, TTS on "Hello there.", the
# end-of-turn model on 1 s of silence). Before every session, outside the measured time: the
# LLM evaluates the fixed prompt prefix (system prompt and few-shot turns), as our session
# does at the start of a call; the agents share the llama.cpp model (ours and the
# same-providers variants) or server (the stock variants), so the cache the next session
# finds must not depend on which agent played before.
WARM_UP_POLICY = {
    "at_start": "STT and VAD: one inference on 0.5 s of silence; TTS: one synthesis of "
    "'Hello there.'; end-of-turn model (where loaded once): one inference on 1 s of silence",
    "per_session": "LLM: the fixed prompt prefix (system prompt + few-shot turns) evaluated "
    "before the session's first audio frame",
}
WARM_UP_SILENCE_S = 0.5
WARM_UP_TEXT = "Hello there."


def system_prompt(config: Config) -> str:
    """The system prompt every agent gets: the configured one, else that of the prompt set."""
    return config.llm.system_prompt or PROMPTS[prompt_name(config.llm)].system
