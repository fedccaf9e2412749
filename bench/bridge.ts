// Bridge command round trip against a real Synapse on loopback: a Matrix user
// sends `!task …`, we time until the bot's reply arrives through the user's
// own /sync, beside the same Synapse's plain message round trip (user A
// sends, user B's /sync sees it) in the same run.
import { startBridgeInProcess, startHarness } from "../harness/bridge-harness.js";
import { metric, type Metric } from "./report.js";
import { progress, sized } from "./util.js";

interface Seen {
  at: number;
  body: string;
  sender: string;
}

/** A user's /sync long-poll loop, recording when each message event arrives. */
class Syncer {
  private since: string | null = null;
  private stopped = false;
  readonly waiters: Array<{ pred: (s: Seen) => boolean; resolve: (s: Seen) => void }> = [];
  /** Called for every message seen (the echo baseline answers from here, as a bot would). */
  onMessage: ((s: Seen) => void) | null = null;
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}
  start(): void {
    void this.loop();
  }
  stop(): void {
    this.stopped = true;
  }
  wait(pred: (s: Seen) => boolean): Promise<Seen> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
  private async loop(): Promise<void> {
    while (!this.stopped) {
      const url = `${this.base}/_matrix/client/v3/sync?timeout=5000${this.since ? `&since=${encodeURIComponent(this.since)}` : ""}`;
      const r = await fetch(url, { headers: { authorization: `Bearer ${this.token}` } }).catch(() => null);
      if (!r?.ok) continue;
      const j = (await r.json()) as { next_batch: string; rooms?: { join?: Record<string, { timeline: { events: Array<{ type: string; sender: string; content: { body?: string } }> } }> } };
      const at = performance.now();
      const first = this.since === null;
      this.since = j.next_batch;
      if (first) continue;
      for (const room of Object.values(j.rooms?.join ?? {})) {
        for (const e of room.timeline.events) {
          if (e.type !== "m.room.message") continue;
          const s = { at, body: e.content.body ?? "", sender: e.sender };
          this.onMessage?.(s);
          for (let i = this.waiters.length - 1; i >= 0; i--) {
            if (this.waiters[i]!.pred(s)) {
              this.waiters[i]!.resolve(s);
              this.waiters.splice(i, 1);
            }
          }
        }
      }
    }
  }
}

async function call<T>(base: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export async function benchBridge(quick: boolean): Promise<Metric[]> {
  const rounds = sized(40, 15, 3);
  const burst = sized(60, 20, 3);
  progress("bridge: starting Synapse (installs on first run), a relay and the bridge…");
  const h = await startHarness();
  const bridge = await startBridgeInProcess(h, "memory://", { quiet: true });
  const synapse = h.synapse;
  const syncers: Syncer[] = [];
  try {
    const a = await synapse.registerUser("bench_a", "pw-bench-a-123");
    const b = await synapse.registerUser("bench_b", "pw-bench-b-123");
    const bot = "@_pursuance_bot:localhost";
    const base = synapse.baseUrl;
    const room = (await call<{ room_id: string }>(base, a.accessToken, "POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", invite: [b.userId, bot] })).room_id;
    await call(base, b.accessToken, "POST", `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
    const sa = new Syncer(base, a.accessToken);
    const sb = new Syncer(base, b.accessToken);
    syncers.push(sa, sb);
    sa.start();
    sb.start();
    await new Promise((r) => setTimeout(r, 1500));
    let txn = 0;
    const send = (body: string) => call(base, a.accessToken, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/b${Date.now()}.${txn++}`, { msgtype: "m.text", body });
    for (let i = 0; i < 50 && !bridge.rooms.get(room); i++) await new Promise((r) => setTimeout(r, 100));
    const created = sa.wait((s) => s.sender === bot && s.body.includes("created Bench"));
    await send('!pursuance create "Bench"');
    await created;
    // B is in the room, so B must be a member who reads the tasks, or the room shows only lock lines.
    const admitted = sa.wait((s) => s.sender === bot && s.body.includes(`${b.userId} joined as`));
    await send(`!pursuance invite ${b.userId} --role "change agent"`);
    await admitted;

    progress(`bridge: ${rounds} plain round trips…`);
    const plain: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const tag = `plain ${i} ${Math.random()}`;
      const seen = sb.wait((s) => s.body === tag);
      const t0 = performance.now();
      await send(tag);
      plain.push((await seen).at - t0);
    }
    progress(`bridge: ${rounds} command round trips…`);
    const cmd: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const title = `bench task ${i}`;
      // What the sender waits for: the task's own message in the room (the command gets a ✅ beside it).
      const seen = sa.wait((s) => s.sender === bot && s.body.startsWith("📋") && s.body.includes(title));
      const t0 = performance.now();
      await send(`!task create "${title}"`);
      cmd.push((await seen).at - t0);
    }
    // The floor of any design where a bot answers in the room: A sends, B sees it in its /sync and
    // sends an answer at once (no work at all), A sees the answer. Two homeserver sends, two syncs.
    progress(`bridge: ${rounds} echo round trips (a bot that does nothing)…`);
    let btxn = 0;
    const sendB = (body: string) => call(base, b.accessToken, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/e${Date.now()}.${btxn++}`, { msgtype: "m.text", body });
    sb.onMessage = (m) => {
      if (m.sender === a.userId && m.body.startsWith("echo ")) void sendB(`echoed ${m.body.slice(5)}`).catch(() => {});
    };
    const echo: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const tag = `${i} ${Math.random()}`;
      const seen = sa.wait((s) => s.body === `echoed ${tag}`);
      const t0 = performance.now();
      await send(`echo ${tag}`);
      echo.push((await seen).at - t0);
    }
    const echoAnswers: Array<Promise<Seen>> = [];
    const te = performance.now();
    for (let i = 0; i < burst; i++) {
      const tag = `burst ${i}`;
      echoAnswers.push(sa.wait((s) => s.body === `echoed ${tag}`));
      await send(`echo ${tag}`);
    }
    await Promise.all(echoAnswers);
    const echoPerSec = burst / ((performance.now() - te) / 1000);
    sb.onMessage = null;

    progress(`bridge: ${burst} commands in a burst…`);
    const replies: Array<Promise<Seen>> = [];
    const t0 = performance.now();
    for (let i = 0; i < burst; i++) {
      const title = `burst ${i}`;
      replies.push(sa.wait((s) => s.sender === bot && s.body.startsWith("📋") && s.body.includes(title)));
      await send(`!task create "${title}"`);
    }
    await Promise.all(replies);
    const perSec = burst / ((performance.now() - t0) / 1000);
    const plainBurst: Array<Promise<Seen>> = [];
    const t1 = performance.now();
    for (let i = 0; i < burst; i++) {
      const tag = `plain burst ${i}`;
      plainBurst.push(sb.wait((s) => s.body === tag));
      await send(tag);
    }
    await Promise.all(plainBurst);
    const plainPerSec = burst / ((performance.now() - t1) / 1000);
    const p50 = pct(cmd, 50);
    const p95 = pct(cmd, 95);
    const b50 = pct(plain, 50);
    const b95 = pct(plain, 95);
    return [
      metric("bridge.command_rtt_p50", p50, "ms", b50, { note: "!task create → the task's message seen in the sender's /sync; baseline: plain message A → B's /sync, same Synapse, same run (ratio > 1 = slower)" }),
      metric("bridge.command_rtt_p95", p95, "ms", b95, { note: "as above, 95th percentile" }),
      metric("bridge.commands_per_second", perSec, "commands/s", plainPerSec, { note: `${burst} !task create sent back to back until every reply arrived; baseline: ${burst} plain messages until all seen` }),
      metric("bridge.command_rtt_vs_echo_p50", p50, "ms", pct(echo, 50), { target: { of: "ratio", op: "<=", n: 1.3 }, note: "the same command p50; baseline: an echo bot that does nothing (A sends, B answers from its /sync, A sees it): the floor of answering in the room" }),
      metric("bridge.commands_vs_echo_per_second", perSec, "commands/s", echoPerSec, { note: `the same burst; baseline: ${burst} messages answered by the echo bot until all answers seen` }),
    ];
  } finally {
    for (const s of syncers) s.stop();
    await bridge.stop().catch(() => {});
    await h.close().catch(() => {});
  }
}
