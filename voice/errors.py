"""User-facing errors.

Anything a user can cause (a bad file, a missing model, a bad config value) is raised as a
`VoiceError` whose message is one line that says what is wrong and how to fix it; the CLI prints
it without a traceback and exits non-zero.
"""


class VoiceError(Exception):
    """An error with a one-line message meant for the person running the command."""


class AudioInputError(VoiceError):
    """The audio given to the agent cannot be used."""


class ModelLoadError(VoiceError):
    """A model file is missing or corrupt."""


class ConfigError(VoiceError):
    """The configuration file or an environment override is invalid."""
