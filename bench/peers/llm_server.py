"""Our local GGUF model behind an OpenAI-compatible HTTP server, for the peer frameworks.

Pipecat and LiveKit talk to LLMs over the OpenAI chat API, so to give them the same model our
agent uses we serve it with `llama_cpp.server` in a subprocess (a separate process, so its
threads and the GIL do not interfere with the framework's event loop, as with a real server).

The peers get the very file our agent loads (for `fast`, the ASCII-vocabulary copy of Gemma,
voice/providers/vocab_prune.py), with the dialogue folded to ASCII as our agent folds it.

The default model is a base model without a chat template: llama.cpp's template guess would
produce nonsense. We register a chat format that renders the OpenAI messages with our own
`render_prompt` (system prompt, the same few-shot turns, "User:/Assistant:" lines) and stops at
the next line, so the peers see exactly the prompt our agent sends. For a chat-template profile
(`quality`) the same chat format renders through the GGUF's template as our agent does
(`voice/providers/dialogue_format.py`: system prompt, the profile's examples, the dialogue).

Run standalone: `python -m bench.peers.llm_server --model PATH --port N --threads T`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from voice.providers.base import DialogueTurn
from voice.providers.dialogue_format import ChatTemplateFormat
from voice.providers.llama_llm import DEFAULT_SYSTEM_PROMPT, render_prompt
from voice.providers.prompts import DEFAULT_PROMPT, PROMPTS, PromptSet
from voice.providers.vocab_prune import to_ascii

CHAT_FORMAT = "voice-dialogue"
MODEL_ALIAS = "voice-gemma"
TOP_P = 0.9  # as our llama provider samples; both stock peers send it
STOP = ["\nUser", "\n", "User:"]
HOST = "127.0.0.1"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def _content_text(content: Any) -> str:
    """The text of an OpenAI message content: a string or a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, Mapping) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
    return " ".join(parts)


def dialogue_history(messages: Sequence[Mapping[str, Any]]) -> list[DialogueTurn]:
    """The user and assistant messages of an OpenAI-style message list, as our dialogue turns.

    Other roles (system, tools) are left out: our agent has no tools, and the system prompt is
    rendered separately. Empty messages are dropped, as our agent never records one.
    """
    history = []
    for message in messages:
        role = message.get("role")
        text = " ".join(_content_text(message.get("content")).split())
        if role in ("user", "assistant") and text:
            history.append(DialogueTurn(str(role), text))
    return history


def render_messages(
    messages: Sequence[Mapping[str, Any]],
    prompt: PromptSet = PROMPTS[DEFAULT_PROMPT],
    ascii_text: bool = False,
    chat: ChatTemplateFormat | None = None,
) -> str:
    """OpenAI chat messages as our agent's prompt, always ending with an open assistant line.

    System messages replace the default system prompt (several are joined); user and assistant
    messages become dialogue turns; other roles (tools) are ignored: our agent has none.
    `ascii_text` folds the prompt to ASCII as our agent does for an ASCII-vocabulary model;
    `chat` renders through the model's chat template (a chat-template profile, `quality`)
    instead of the transcript.
    """
    system = [_content_text(m.get("content")) for m in messages if m.get("role") == "system"]
    history = dialogue_history(messages)
    system_prompt = " ".join(s for s in system if s.strip()) or prompt.system
    if chat is not None:
        text = chat.reply_prompt(system_prompt, prompt.few_shot, history)
    else:
        text = render_prompt(system_prompt, history, few_shot=prompt.few_shot)
        if not text.endswith("\nAssistant:"):
            text += "\nAssistant:"
    return to_ascii(text) if ascii_text else text


def register_chat_format(
    prompt: PromptSet = PROMPTS[DEFAULT_PROMPT],
    ascii_text: bool = False,
    chat: ChatTemplateFormat | None = None,
) -> None:
    """Register `voice-dialogue` with llama-cpp-python (idempotent: the registry overwrites)."""
    from llama_cpp import llama_chat_format

    stop = list(chat.stop if chat is not None else STOP)

    def format_voice_dialogue(
        messages: list[Any], **kwargs: Any
    ) -> llama_chat_format.ChatFormatterResponse:
        return llama_chat_format.ChatFormatterResponse(
            prompt=render_messages(messages, prompt, ascii_text, chat), stop=stop
        )

    llama_chat_format.register_chat_format(CHAT_FORMAT)(format_voice_dialogue)


def serve(
    model_path: Path,
    port: int,
    threads: int,
    prompt: str = DEFAULT_PROMPT,
    ascii_text: bool = False,
    chat_template: bool = False,
) -> None:
    """Serve the model until killed (blocking)."""
    import uvicorn
    from llama_cpp import Llama
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import Settings

    chat = None
    if chat_template:  # the GGUF's own template, read as our agent reads it
        chat = ChatTemplateFormat.of(Llama(str(model_path), vocab_only=True, verbose=False))
    register_chat_format(PROMPTS[prompt], ascii_text, chat)
    settings = Settings(
        model=str(model_path),
        model_alias=MODEL_ALIAS,
        chat_format=CHAT_FORMAT,
        n_threads=threads,
        n_threads_batch=threads,
        n_ctx=2048,
        host=HOST,
        port=port,
        verbose=False,
    )
    app = create_app(settings=settings)
    uvicorn.run(app, host=HOST, port=port, log_level="warning")


def free_port() -> int:
    """A TCP port nobody listens on right now (a small race is acceptable for a local bench)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _models_answer(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
            return bool(json.load(response).get("data"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def start_llm_server(
    model_path: Path,
    threads: int,
    port: int | None = None,
    timeout_s: float = 60,
    prompt: str = DEFAULT_PROMPT,
    ascii_text: bool = False,
    chat_template: bool = False,
) -> Iterator[str]:
    """Start llama_cpp.server on 127.0.0.1 in a subprocess serving the GGUF; yield its base URL
    "http://127.0.0.1:PORT/v1"; stop it on exit.

    Raises RuntimeError (with the server's log tail) if it exits or does not answer
    `GET /v1/models` within `timeout_s`.
    """
    port = port or free_port()
    base_url = f"http://{HOST}:{port}/v1"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO_ROOT), env.get("PYTHONPATH")) if p)
    command = [
        sys.executable,
        "-m",
        "bench.peers.llm_server",
        "--model",
        str(model_path),
        "--port",
        str(port),
        "--threads",
        str(threads),
        "--prompt",
        prompt,
        *(["--ascii-text"] if ascii_text else []),
        *(["--chat-template"] if chat_template else []),
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=_REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + timeout_s
            while not _models_answer(base_url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-4000:].decode(errors="replace")
                    state = (
                        f"exited with code {process.returncode}"
                        if process.poll() is not None
                        else f"did not answer within {timeout_s:.0f} s"
                    )
                    raise RuntimeError(f"LLM server on {base_url} {state}:\n{tail}")
                time.sleep(0.2)
            yield base_url
        finally:
            _stop(process)


def warm_up(base_url: str, system_prompt: str | None = None, timeout_s: float = 60) -> None:
    """Evaluate the fixed prompt prefix (system prompt and few-shot turns) once, as our agent
    does before a session, so the first reply of a session does not pay for it: llama.cpp
    keeps the evaluated tokens and reuses the common prefix of the next prompt."""
    body = {
        "model": MODEL_ALIAS,
        "messages": [{"role": "system", "content": system_prompt or DEFAULT_SYSTEM_PROMPT}],
        "max_tokens": 1,
    }
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer local"},
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        response.read()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, required=True, help="GGUF file to serve")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt", choices=sorted(PROMPTS), default=DEFAULT_PROMPT)
    parser.add_argument(
        "--ascii-text", action="store_true", help="fold the dialogue to ASCII (ASCII-vocab model)"
    )
    parser.add_argument(
        "--chat-template", action="store_true", help="render with the GGUF's chat template"
    )
    args = parser.parse_args(argv)
    serve(args.model, args.port, args.threads, args.prompt, args.ascii_text, args.chat_template)


if __name__ == "__main__":
    main()
