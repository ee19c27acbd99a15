"""Scale-out: Kamailio (deploy/kamailio/kamailio.cfg) spreads SIPp's calls over two SIP
workers, probing them with OPTIONS; one worker dies without a word mid-run and the calls that
follow all reach the other.

The workers are the endpoint `voice serve --sip` runs (`SipCalls`), in this process so they
share one set of models; the dead one's socket is simply closed, as a crash would leave it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bench.sipp import Ear, Scenario, free_udp_port, run_sipp, write_ulaw
from tests.telephony.conftest import CORPUS, sip_config, sip_endpoint
from voice.audio import read_wav
from voice.providers.registry import Models
from voice.server.sip_calls import SipCalls

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "kamailio" / "kamailio.cfg"


@contextlib.asynccontextmanager
async def kamailio(workers: list[SipCalls], folder: Path):  # type: ignore[no-untyped-def]
    listing = folder / "dispatcher.list"
    listing.write_text("".join(f"1 sip:{w.host}:{w.port}\n" for w in workers))
    port = free_udp_port()
    process = await asyncio.create_subprocess_exec(
        "kamailio", "-DD", "-E", "-f", str(CONFIG), "-l", f"udp:127.0.0.1:{port}",
        "-Y", str(folder), "-P", str(folder / "kamailio.pid"),
        "-A", f'DISPATCHER_LIST="{listing}"', "-A", "DS_PING_INTERVAL=1",
        "-A", "FR_TIMER_MS=1000",
        stdout=asyncio.subprocess.DEVNULL, stderr=(folder / "kamailio.log").open("wb"),
    )  # fmt: skip
    try:
        await asyncio.sleep(1.5)  # started, and the first OPTIONS went out
        assert process.returncode is None, (folder / "kamailio.log").read_text()[-2000:]
        yield ("127.0.0.1", port)
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


def test_calls_spread_over_two_workers_and_survive_one_dying(
    models: Models, tmp_path: Path
) -> None:
    clip = write_ulaw(read_wav(CORPUS / "hello-world.wav"), tmp_path / "hello.ulaw")

    async def one_call(proxy: tuple[str, int], name: str) -> None:
        workdir = tmp_path / name
        workdir.mkdir()
        ear = await Ear().open()
        try:
            code, log = await run_sipp(
                Scenario(audio=clip, talk_ms=7_000), proxy, [ear.port], workdir, timeout_s=30
            )
        finally:
            ear.close()
        assert code == 0, log
        assert ear.packets, f"{name}: no answer came back"

    async def main() -> None:
        async with (
            sip_endpoint(sip_config(), models) as first,
            sip_endpoint(sip_config(), models) as second,
            kamailio([first, second], tmp_path) as proxy,
        ):
            await one_call(proxy, "before-1")
            await one_call(proxy, "before-2")
            assert len(first.ended) == 1 and len(second.ended) == 1  # round-robin
            await first.uas.transport.stop()  # the first worker dies: no BYE, no answers
            for index in range(2):
                await one_call(proxy, f"after-{index}")
            assert len(first.ended) == 1 and len(second.ended) == 3

    asyncio.run(main())
