"""The voice agent: a session wires transport audio through VAD, end of turn and the bot turn."""
