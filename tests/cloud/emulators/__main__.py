"""Run the three emulators until Ctrl-C, for `voice bench --config cloud.toml`.

    python -m tests.cloud.emulators --delay-ms 60 --write-config cloud.toml

prints the keys to export and writes a config whose providers point at the emulators.
`--whisper` makes the Deepgram emulator transcribe with the local Whisper (real words for the
LLM, at the cost of CPU shared with the agent); without it every utterance is `--transcript`.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from tests.cloud.emulators import (
    AnthropicEmulator,
    CartesiaEmulator,
    DeepgramEmulator,
    EmulatorServer,
    NetworkDelay,
)
from tests.cloud.emulators.deepgram_emulator import BYTES_PER_SECOND, decode
from voice.audio import SAMPLE_RATE, resample

CONFIG = """# Written by `python -m tests.cloud.emulators` (RTT {rtt} ms): all stages on emulators.
[providers]
stt = "deepgram"
llm = "anthropic"
tts = "cartesia"

[deepgram]
base_url = "{deepgram}"

[anthropic]
base_url = "{anthropic}"

[cartesia]
base_url = "{cartesia}"
"""


def whisper_transcriber() -> Callable[[bytes, str, int], str]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from voice.config import Config
    from voice.providers.registry import load_stt

    stt = load_stt(Config())

    def transcribe(audio: bytes, encoding: str, sample_rate: int) -> str:
        # linear16 at 16 kHz as is; a phone's 8 kHz G.711 decoded and resampled (soxr)
        if encoding not in BYTES_PER_SECOND:
            return ""
        return stt.transcribe(resample(decode(audio, encoding), sample_rate, SAMPLE_RATE))

    return transcribe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=0.0, help="network round trip")
    parser.add_argument("--handshake-rtts", type=float, default=3.0, help="RTTs per connect")
    parser.add_argument("--key", default="emulator-key", help="the key every emulator accepts")
    parser.add_argument("--token-ms", type=float, default=0.0, help="LLM time between words")
    parser.add_argument("--transcript", default="What is the capital of France?")
    parser.add_argument("--reply", default="The capital of France is Paris.")
    parser.add_argument("--whisper", action="store_true", help="transcribe with local Whisper")
    parser.add_argument("--write-config", type=Path, help="write a cloud config here")
    args = parser.parse_args()

    delay = NetworkDelay(rtt_ms=args.delay_ms, handshake_rtts=args.handshake_rtts)
    deepgram = DeepgramEmulator(key=args.key, delay=delay, transcript=args.transcript)
    if args.whisper:
        deepgram.transcriber = whisper_transcriber()
    emulators = {
        "deepgram": deepgram,
        "anthropic": AnthropicEmulator(
            key=args.key, delay=delay, reply=args.reply, token_ms=args.token_ms
        ),
        "cartesia": CartesiaEmulator(key=args.key, delay=delay),
    }
    servers = {name: EmulatorServer(emulator).start() for name, emulator in emulators.items()}
    urls = {name: server.base_url for name, server in servers.items()}
    for name, url in urls.items():
        print(f"{name} emulator: {url} (RTT {args.delay_ms:g} ms)")
    print(
        f"export DEEPGRAM_API_KEY={args.key} ANTHROPIC_API_KEY={args.key} "
        f"CARTESIA_API_KEY={args.key}"
    )
    if args.write_config:
        args.write_config.write_text(CONFIG.format(rtt=args.delay_ms, **urls), encoding="utf-8")
        print(f"wrote {args.write_config}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    for server in servers.values():
        server.stop()


if __name__ == "__main__":
    main()
