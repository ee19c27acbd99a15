// Browser client for `voice serve`: WebRTC mic up, bot audio down, per-turn latency view.
"use strict";

const STAGES = ["endpoint", "stt", "llm.ttft", "llm.clause", "tts.ttfb", "transport"];
const AUDIBLE_PEAK = 0.01;     // peak |sample| above which bot audio counts as heard
const SILENCE_HOLD_MS = 150;   // quiet this long before a new onset may be recorded,
                               // so short gaps between words do not look like a new reply
const ICE_TIMEOUT_MS = 2000;
const ERRORS = { 401: "bad or missing token", 429: "rate limited — try again shortly",
                 503: "server busy — too many sessions" };

const token = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
const talkBtn = $("talk"), statusEl = $("status"), micBar = $("mic-level");
const transcriptEl = $("transcript"), botAudio = $("bot-audio");

window.voiceStats = { turns: [], session: null };

let audioCtx = null;   // one context for the page; created inside the first click (autoplay policy)
let call = null;       // everything belonging to the current connection attempt
const turns = new Map(); // turn number -> view/measurement state

// Bot-audio onset detector state. It runs continuously because in practice the
// first bot audio is often heard before the matching `speaking` message arrives.
const det = { audible: false, quietSince: 0, lastOnset: null, pending: null };

function setState(state, text) {
  document.body.dataset.state = state;
  statusEl.textContent = text;
  talkBtn.textContent = state === "connecting" || state === "connected" ? "Hang up" : "Connect";
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; // server text only ever goes through textContent
  return e;
}

const fmt = (ms) => `${Math.round(ms)} ms`;
const isNum = (v) => typeof v === "number" && Number.isFinite(v);

// ---------------------------------------------------------------- connection

talkBtn.addEventListener("click", () => {
  if (call) hangUp("idle", "hung up");
  else connect();
});

async function connect() {
  if (!token) return setState("error", "missing token: open the URL printed by `voice serve` (…/?token=…)");
  // Create/resume synchronously inside the click so the autoplay policy lets audio run.
  audioCtx = audioCtx || new AudioContext();
  audioCtx.resume();
  const c = (call = { pc: null, dc: null, mic: null, timers: [], nodes: [] });
  const stale = () => call !== c; // the user hung up while we were awaiting
  resetTranscript();
  setState("connecting", "connecting… (allow the microphone)");
  try {
    // Echo cancellation keeps the agent from hearing itself through the speakers. Noise
    // suppression and gain control reshape speech before the agent's own VAD hears it;
    // `?audio=raw` turns all three off (a headset, or measuring what they cost).
    const processed = new URLSearchParams(location.search).get("audio") !== "raw";
    c.mic = await navigator.mediaDevices.getUserMedia({
      audio: {
        echoCancellation: processed,
        noiseSuppression: processed,
        autoGainControl: processed,
      },
    });
    if (stale()) return stopTracks(c.mic);
    startMicMeter(c);
    setState("connecting", "connecting…");

    const pc = (c.pc = new RTCPeerConnection({ iceServers: [] })); // LAN only: host candidates
    pc.ontrack = (ev) => {
      // Ask for the smallest jitter buffer the browser will run (Chrome adapts it upward on a
      // lossy path); its default target adds delay that a LAN does not need.
      if ("jitterBufferTarget" in ev.receiver) ev.receiver.jitterBufferTarget = 0;
      attachBotAudio(c, ev.streams[0] || new MediaStream([ev.track]));
    };
    pc.onconnectionstatechange = () => {
      if (stale()) return;
      const s = pc.connectionState;
      if (s === "connected") setState("connected", "connected — speak");
      else if (s === "failed") hangUp("error", "connection failed (is the server reachable on this network?)");
      else if (s === "disconnected") setState("connecting", "connection interrupted — reconnecting…");
    };
    // addTrack gives a sendrecv transceiver, so the bot's audio comes back on it too.
    for (const t of c.mic.getAudioTracks()) pc.addTrack(t, c.mic);
    // The channel must exist before the offer so the SDP carries an application m-line.
    c.dc = pc.createDataChannel("events", { ordered: true });
    c.dc.onmessage = (ev) => { if (!stale()) onMessage(ev.data); };

    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringDone(pc); // no trickle ICE: the server gets every candidate in one POST
    if (stale()) return;

    const res = await fetch("/offer", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, caller: callerId() }),
    });
    const body = await res.json().catch(() => null);
    if (stale()) return;
    if (!res.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : ERRORS[res.status] || "";
      throw new Error(`server refused (${res.status})${detail ? ": " + detail : ""}`);
    }
    window.voiceStats.session = body.session || null;
    await pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
  } catch (err) {
    if (stale()) return;
    const msg = err && err.name === "NotAllowedError" ? "microphone permission denied" : String(err.message || err);
    hangUp("error", msg);
  }
}

// This browser's own id for its user, so that a task delegated in one call is reported in the
// next one, and to nobody else: random, kept in the browser, never shown.
function callerId() {
  try {
    let id = localStorage.getItem("voice-caller");
    if (!id) {
      id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem("voice-caller", id);
    }
    return id;
  } catch {
    return ""; // storage refused (private mode): the call is its own caller
  }
}

function iceGatheringDone(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    // Fallback: a host with an unreachable interface can keep gathering for a long time;
    // whatever has been gathered after 2 s is enough on a LAN.
    const timer = setTimeout(finish, ICE_TIMEOUT_MS);
    function finish() {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    }
    function check() { if (pc.iceGatheringState === "complete") finish(); }
    pc.addEventListener("icegatheringstatechange", check);
  });
}

function hangUp(state, text) {
  const c = call;
  call = null;
  if (c) {
    c.timers.forEach(clearInterval);
    c.nodes.forEach((n) => n.disconnect());
    if (c.dc) c.dc.close();
    if (c.pc) c.pc.close();
    stopTracks(c.mic);
  }
  botAudio.srcObject = null;
  micBar.style.width = "0%";
  micBar.parentElement.setAttribute("aria-valuenow", "0");
  det.audible = false;
  det.pending = null;
  setState(state, text);
}

function stopTracks(stream) {
  if (stream) stream.getTracks().forEach((t) => t.stop());
}

// ---------------------------------------------------------------- audio analysis

function startMicMeter(c) {
  const src = audioCtx.createMediaStreamSource(c.mic);
  const an = audioCtx.createAnalyser();
  an.fftSize = 1024;
  src.connect(an); // analyser only, not to the speakers: we must not hear ourselves
  c.nodes.push(src, an);
  const buf = new Float32Array(an.fftSize);
  c.timers.push(setInterval(() => {
    an.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    // sqrt stretches quiet speech (RMS ~0.01–0.1) across a visible width
    const pct = Math.min(100, Math.sqrt(Math.sqrt(sum / buf.length)) * 180);
    micBar.style.width = `${pct.toFixed(1)}%`;
    micBar.parentElement.setAttribute("aria-valuenow", String(Math.round(pct)));
  }, 50));
}

function attachBotAudio(c, stream) {
  // Chrome only feeds remote WebRTC audio into WebAudio while a media element plays it,
  // so the element does the playing and the analyser (not connected onward) only listens.
  botAudio.srcObject = stream;
  botAudio.play().catch(() => {});
  const src = audioCtx.createMediaStreamSource(stream);
  const an = audioCtx.createAnalyser();
  an.fftSize = 256; // ~5 ms at 48 kHz, matching the poll period
  src.connect(an);
  c.nodes.push(src, an);
  const buf = new Float32Array(an.fftSize);
  // setInterval, not requestAnimationFrame: rAF is throttled in hidden/headless pages.
  c.timers.push(setInterval(() => {
    an.getFloatTimeDomainData(buf);
    let peak = 0;
    for (const v of buf) peak = Math.max(peak, Math.abs(v));
    const now = performance.now();
    if (peak > AUDIBLE_PEAK) {
      if (!det.audible) det.lastOnset = now;
      det.audible = true;
      det.quietSince = now;
    } else if (det.audible && now - det.quietSince > SILENCE_HOLD_MS) {
      det.audible = false;
    }
    checkPending();
  }, 5));
}

// A turn's audio is "heard" at the first onset after its end of speech (on the page clock).
function checkPending() {
  const t = det.pending;
  if (!t || !det.audible || det.lastOnset === null || det.lastOnset <= t.eosPageMs) return;
  det.pending = null;
  t.pageTtfaMs = det.lastOnset - t.eosPageMs;
  t.box.dataset.pageTtfaMs = t.pageTtfaMs.toFixed(1);
  renderTtfa(t);
  if (t.record) renderWaterfall(t);
  const stat = window.voiceStats.turns.find((s) => s.turn === t.n);
  if (stat) stat.pageTtfaMs = t.pageTtfaMs;
}

// ---------------------------------------------------------------- messages

function onMessage(data) {
  let msg;
  try { msg = JSON.parse(data); } catch { return; }
  if (!msg || typeof msg !== "object") return;
  switch (msg.type) {
    case "hello":
      window.voiceStats.session = msg.session || window.voiceStats.session;
      break;
    case "speaking": onSpeaking(msg); break;
    case "turn": if (msg.record) onTurn(msg.record); break;
    default: break; // unknown types are ignored on purpose (forward compatibility)
  }
}

function onSpeaking(msg) {
  const t = getTurn(msg.turn);
  if (typeof msg.transcript === "string") t.user.textContent = msg.transcript;
  if (!t.record) t.bot.textContent = "…";
  // eos_age_ms is on the server clock; we subtract it at receipt and treat the data
  // channel's one-way latency as zero, which is a good approximation on a LAN (<1–2 ms).
  if (isNum(msg.eos_age_ms)) {
    t.eosPageMs = performance.now() - msg.eos_age_ms;
    det.pending = t;
    checkPending(); // the audio may already have been heard before this message arrived
  }
}

function onTurn(rec) {
  const t = getTurn(rec.turn);
  t.record = rec;
  t.box.dataset.outcome = rec.outcome || "";
  if (isNum(rec.ttfa_ms)) t.box.dataset.serverTtfaMs = rec.ttfa_ms.toFixed(1);
  if (typeof rec.transcript === "string") t.user.textContent = rec.transcript;
  const interrupted = rec.outcome === "interrupted";
  t.bot.textContent = rec.reply || (rec.outcome === "answered" ? "" : `(${rec.outcome || "no reply"})`);
  t.bot.classList.toggle("interrupted", interrupted);
  if (interrupted) t.bot.append(el("span", "tag", "interrupted"));
  renderTtfa(t);
  renderWaterfall(t);
  const stats = window.voiceStats.turns;
  const entry = { turn: t.n, serverTtfaMs: isNum(rec.ttfa_ms) ? rec.ttfa_ms : null,
                  pageTtfaMs: t.pageTtfaMs, transcript: rec.transcript || "",
                  reply: rec.reply || "", outcome: rec.outcome || null };
  const i = stats.findIndex((s) => s.turn === t.n);
  if (i >= 0) stats[i] = entry; else stats.push(entry);
  document.body.dataset.turns = String(stats.length);
}

// ---------------------------------------------------------------- rendering

function resetTranscript() {
  turns.clear();
  transcriptEl.replaceChildren();
  window.voiceStats = { turns: [], session: null };
  document.body.dataset.turns = "0";
}

function getTurn(n) {
  n = Number(n);
  let t = turns.get(n);
  if (t) return t;
  const box = el("div", "turn");
  box.dataset.turn = String(n);
  const user = el("p", "line user", "");
  const bot = el("p", "line bot", "…");
  const ttfa = el("p", "ttfa");
  ttfa.hidden = true;
  box.append(user, bot, ttfa);
  transcriptEl.append(box);
  t = { n, box, user, bot, ttfa, wf: null, record: null, eosPageMs: null, pageTtfaMs: null };
  turns.set(n, t);
  box.scrollIntoView({ block: "end", behavior: "smooth" });
  return t;
}

function renderTtfa(t) {
  const server = t.record && isNum(t.record.ttfa_ms) ? fmt(t.record.ttfa_ms) : "…";
  if (t.pageTtfaMs === null && !(t.record && isNum(t.record.ttfa_ms))) return;
  const heard = t.pageTtfaMs === null ? "not measured" : fmt(t.pageTtfaMs);
  // A cloud failover's bridge ("One moment.") plays before the reply: the first sound heard
  // is then the bridge, not the reply, and says so (the server's TTFA is the reply's).
  const bridged = t.record && isNum(t.record.bridge_ms);
  const label = bridged ? "first sound heard here (the bridge)" : "TTFA heard here";
  t.ttfa.textContent = `${label}: ${heard} (server: ${server})`;
  t.ttfa.hidden = false;
}

function renderWaterfall(t) {
  const rec = t.record;
  const spans = rec.spans && typeof rec.spans === "object" ? rec.spans : {};
  const stages = rec.stages_ms || {};
  const over = rec.budget ? rec.budget.over : null;
  const rows = STAGES.filter((s) => spans[s] && isNum(spans[s].start_ms))
    .map((s) => ({ name: s, start: spans[s].start_ms, end: isNum(spans[s].end_ms) ? spans[s].end_ms : null }));
  const marks = [isNum(rec.ttfa_ms) ? rec.ttfa_ms : null, t.pageTtfaMs];
  const points = [0, ...rows.flatMap((r) => [r.start, r.end]), ...marks].filter(isNum);
  const lo = Math.min(...points);
  const hi = Math.max(...points);
  const span = Math.max(hi - lo, 1);
  const pct = (ms) => `${(((ms - lo) / span) * 100).toFixed(2)}%`;

  const wf = el("div", "waterfall");
  if (rec.budget) wf.dataset.budgetOk = String(!!rec.budget.ok);
  for (const r of rows) {
    const row = el("div", "wf-row");
    row.dataset.stage = r.name;
    const dur = r.end !== null ? r.end - r.start : stages[r.name];
    row.append(el("span", "wf-label", `${r.name} ${isNum(dur) ? fmt(dur) : "…"}`));
    const track = el("div", "wf-track");
    // An unfinished stage (end null) runs to the right edge.
    const bar = el("div", "wf-bar" + (r.name === over ? " over" : "") + (r.end === null ? " open" : ""));
    bar.dataset.stage = r.name;
    bar.dataset.startMs = String(r.start);
    if (r.end !== null) bar.dataset.endMs = String(r.end);
    bar.style.left = pct(r.start);
    bar.style.width = `${(((r.end !== null ? r.end : hi) - r.start) / span * 100).toFixed(2)}%`;
    bar.title = `${r.name}: ${fmt(r.start)} → ${r.end !== null ? fmt(r.end) : "?"}`;
    track.append(bar);
    row.append(track);
    wf.append(row);
  }
  const overlay = el("div", "wf-markers");
  [["marker-server", "server TTFA", marks[0]], ["marker-page", "heard here", marks[1]]].forEach(([cls, label, ms]) => {
    if (!isNum(ms)) return;
    const m = el("div", `marker ${cls}`);
    m.dataset.ms = ms.toFixed(1);
    m.style.left = pct(ms);
    m.title = `${label}: ${fmt(ms)}`;
    overlay.append(m);
  });
  const axis = el("div", "wf-row wf-axis");
  axis.append(el("span", "wf-label", rows.length ? "" : "no stage timings"),
              el("span", "wf-scale", `${fmt(lo)} … ${fmt(hi)}`));
  wf.append(axis, overlay);
  if (t.wf) t.wf.replaceWith(wf); else t.box.append(wf);
  t.wf = wf;
}

setState("idle", token ? "idle — press Connect and allow the microphone"
                       : "missing token: open the URL printed by `voice serve` (…/?token=…)");
