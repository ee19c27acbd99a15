"""The talk page in real Chromium (Debian's, driven by Playwright; no browser download): the
fake microphone plays a real question, the page connects over WebRTC to a real server on
127.0.0.1, shows the transcript and the reply, hears the bot and draws the waterfall."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.serve_bench import CHROMIUM, chromium_args, fake_mic_wav
from tests.server.serving import TOKEN, call_tasks, clip, running_server, serve_config, wait_for

pytestmark = pytest.mark.slow

SCREENSHOT_DIR = os.environ.get("VOICE_SCREENSHOT_DIR")  # keep the screenshot (docs) if set


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
                executable_path=CHROMIUM,
                # the question after 1.5 s of silence (the page connects meanwhile)
                args=chromium_args(fake_mic_wav(clip("weather-question.wav"), tmp_path / "m.wav")),
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
