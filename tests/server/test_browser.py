"""The talk page in real Chromium (Debian's, driven by Playwright; no browser download): the
fake microphone plays a real question, the page connects over WebRTC to a real server on
127.0.0.1, shows the transcript and the reply, hears the bot and draws the waterfall."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soxr

from tests.server.serving import TOKEN, call_tasks, clip, running_server, serve_config, wait_for
from voice.audio import write_wav

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("VOICE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT_DIR = os.environ.get("VOICE_SCREENSHOT_DIR")  # keep the screenshot (docs) if set


def chromium_args(wav: Path) -> list[str]:
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--allow-loopback-in-peer-connection",  # the server offers 127.0.0.1 only
        "--autoplay-policy=no-user-gesture-required",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # this machine's closed network refuses the rest
        "--disable-component-update",
        "--disable-sync",
    ]


def fake_mic_wav(tmp_path: Path) -> Path:
    """The question at 48 kHz after 1.5 s of silence (the page connects meanwhile), with
    silence after it so that the file never ends during the test."""
    pcm = np.concatenate([np.zeros(24_000, dtype=np.int16), clip("weather-question.wav", 25)])
    wav = tmp_path / "mic.wav"
    write_wav(wav, soxr.resample(pcm, 16_000, 48_000).astype(np.int16), 48_000)
    return wav


def test_the_page_talks_with_the_agent_in_chromium(tmp_path: Path) -> None:
    if not shutil.which(CHROMIUM):
        # CI installs Debian's chromium (make system-deps) and must run this test
        if os.environ.get("VOICE_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async def scenario() -> dict[str, Any]:
        async with (
            running_server(serve_config(max_sessions=1)) as (base, server),
            async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=chromium_args(fake_mic_wav(tmp_path))
            )
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                await page.goto(f"{base}/?token={TOKEN}")
                await page.click("#talk")
                await page.wait_for_selector("body[data-state=connected]", timeout=20_000)
                await page.wait_for_selector("body[data-turns='1']", timeout=60_000)
                await page.wait_for_selector(".turn[data-page-ttfa-ms]", timeout=10_000)
                stats: dict[str, Any] = await page.evaluate("window.voiceStats")
                user = await page.inner_text(".turn .line.user")
                bot = await page.inner_text(".turn .line.bot")
                bars = await page.locator(".turn .waterfall .wf-bar").count()
                shot = await page.screenshot(full_page=True)
                await page.click("#talk")  # hang up
                await page.wait_for_selector("body[data-state=idle]", timeout=5_000)
            finally:
                await browser.close()
            assert await wait_for(lambda: not server.calls.active, 15)
            assert call_tasks() == []
            return {"stats": stats, "user": user, "bot": bot, "bars": bars, "shot": shot}

    seen = asyncio.run(scenario())
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR, "serve-page.png").write_bytes(seen["shot"])
    assert "paris" in seen["user"].lower() and "weather" in seen["user"].lower(), seen
    assert len(seen["bot"].strip()) > 3 and seen["bot"].strip() != "…", seen
    assert seen["bars"] >= 4, seen  # endpoint, stt, llm.ttft ... at least
    assert len(seen["shot"]) > 10_000
    turn = seen["stats"]["turns"][0]
    assert turn["pageTtfaMs"] is not None and turn["pageTtfaMs"] > 0, turn
    print(
        f"\nTTFA heard by the page {turn['pageTtfaMs']:.0f} ms; server {turn['serverTtfaMs']} ms;"
        f" reply {turn['reply']!r}"
    )
