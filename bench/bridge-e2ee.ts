// What end-to-bridge encryption costs a command (issue 20): `!task create`
// round trips in an encrypted room against the same command in a plain room,
// and against an echo appservice that only decrypts and re-encrypts
// (echo-appservice.ts, the bridge's own crypto pieces), all on one Synapse in
// one run, interleaved round by round so that load from other work on the
// machine falls on every kind alike. The user is one real E2EE client
// (matrix-js-sdk with Rust crypto) in every room, so its own cost is the same
// in the plain rooms and only encryption differs.
import { RoomEvent, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { E2eeUser } from "../harness/e2ee-user.js";
import type { Bridge } from "../src/bridge/bridge.js";
import { startEcho, writeEchoRegistration, type EchoAppservice, type EchoRegistration } from "./echo-appservice.js";
import { BRIDGE_E2EE_BOUND } from "./bounds.js";
import { metric, type Metric } from "./report.js";
import { progress, prng, sized } from "./util.js";

const BOT = "@_pursuance_bot:localhost";
const WAIT_MS = 60_000;
/** A pause before each timed trip, after the bridge's queues are idle: its HTTP and timers settle too. */
const SETTLE_MS = 50;

interface Seen {
  at: number;
  roomId: string;
  sender: string;
  body: string;
}

/**
 * When each message reaches the client, decrypted: timed from the client's
 * own timeline events (a poll would add its interval to every round trip).
 */
class Arrivals {
  private waiters: Array<{ pred: (s: Seen) => boolean; resolve: (s: Seen) => void }> = [];
  private readonly onTimeline = (ev: MatrixEvent, room: Room | undefined) => {
    // Resolves once the client has decrypted it (at once for a plain event).
    void this.client.decryptEventIfNeeded(ev).then(() => {
      const body = ev.getContent().body;
      const s = { at: performance.now(), roomId: room?.roomId ?? "", sender: ev.getSender() ?? "", body: typeof body === "string" ? body : "" };
      this.waiters = this.waiters.filter((w) => !(w.pred(s) && (w.resolve(s), true)));
    });
  };
  constructor(private readonly client: MatrixClient) {
    client.on(RoomEvent.Timeline, this.onTimeline);
  }
  wait(what: string, pred: (s: Seen) => boolean): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`bridge-e2ee: no ${what} within ${WAIT_MS / 1000} s`)), WAIT_MS);
      this.waiters.push({ pred, resolve: (s) => (clearTimeout(t), resolve(s)) });
    });
  }
  stop(): void {
    this.client.off(RoomEvent.Timeline, this.onTimeline);
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export async function benchBridgeE2ee(): Promise<Metric[]> {
  const rounds = sized(40, 12, 2);
  let reg: EchoRegistration | null = null;
  let h: Harness | null = null;
  let bridge: Bridge | null = null;
  let echo: EchoAppservice | null = null;
  let alice: E2eeUser | null = null;
  let arrivals: Arrivals | null = null;
  let stopping: Promise<void> | null = null;
  // Every process this section started goes, on success, failure or a signal (Synapse runs detached).
  const cleanup = () =>
    (stopping ??= (async () => {
      arrivals?.stop();
      alice?.stop();
      await echo?.stop().catch(() => {});
      await bridge?.stop().catch(() => {});
      await h?.close().catch(() => {});
      reg?.remove();
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    progress(`bridge-e2ee: ${sig}: stopping Synapse, the bridge and the echo appservice…`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    progress("bridge-e2ee: starting Synapse, a relay, the bridge and an echo appservice…");
    reg = await writeEchoRegistration();
    h = await startHarness({ appservices: [reg.path] });
    bridge = await startBridgeInProcess(h, "memory://", { quiet: true, encryption: { keyWaitMs: 10_000 } });
    echo = await startEcho(reg, h.synapse.baseUrl, h.synapse.serverName);
    alice = await E2eeUser.register(h.synapse, "bench_e2ee");
    const a = alice;
    const arr = (arrivals = new Arrivals(a.client));
    const fromBridge = (s: Seen) => s.sender.startsWith("@_pursuance_");

    progress("bridge-e2ee: a plain and an encrypted room with the bridge, an encrypted and a plain one with the echo…");
    const plainRoom = (await a.client.createRoom({ preset: "private_chat" as never, invite: [BOT] })).room_id;
    const sealedRoom = await a.createEncryptedRoom([BOT]);
    const echoRoom = await a.createEncryptedRoom([echo.userId]);
    const echoPlainRoom = (await a.client.createRoom({ preset: "private_chat" as never, invite: [echo.userId] })).room_id;
    for (const [room, who] of [[plainRoom, BOT], [sealedRoom, BOT], [echoRoom, echo.userId], [echoPlainRoom, echo.userId]] as const) await a.waitForJoin(room, who);

    /** One round trip: send, until the answer `pred` picks arrives decrypted. */
    const trip = async (room: string, body: string, what: string, pred: (s: Seen) => boolean): Promise<number> => {
      const seen = arr.wait(what, (s) => s.roomId === room && pred(s));
      const t0 = performance.now();
      await a.send(room, body);
      return (await seen).at - t0;
    };
    const command = (room: string, title: string) => trip(room, `!task create "${title}"`, `task "${title}"`, (s) => fromBridge(s) && s.body.startsWith("📋") && s.body.includes(title));
    const echoTrip = (room: string, tag: string) => trip(room, `echo ${tag}`, `echo of ${tag}`, (s) => s.sender === echo!.userId && s.body === `echoed ${tag}`);

    // The first message of a room carries the key sharing (both ways) and the pursuance's creation: timed, kept apart.
    const created = (title: string) => (s: Seen) => s.sender === BOT && s.body.includes(`created ${title}`);
    const firstPlain = await trip(plainRoom, '!pursuance create "Bench plain"', "the plain room's pursuance", created("Bench plain"));
    const firstSealed = await trip(sealedRoom, '!pursuance create "Bench sealed"', "the encrypted room's pursuance", created("Bench sealed"));
    const firstEcho = await echoTrip(echoRoom, "warm-up");
    await echoTrip(echoPlainRoom, "warm-up");
    progress(`bridge-e2ee: first command ${firstPlain.toFixed(0)} ms plain, ${firstSealed.toFixed(0)} ms encrypted; first encrypted echo ${firstEcho.toFixed(0)} ms`);

    const plain: number[] = [];
    const sealed: number[] = [];
    const echoSealed: number[] = [];
    const echoPlain: number[] = [];
    progress(`bridge-e2ee: ${rounds} rounds, each a command in the plain and the encrypted room and an echo in the encrypted and the plain room…`);
    const kinds: Array<[number[], (i: number) => Promise<number>]> = [
      [plain, (i) => command(plainRoom, `plain task ${i}`)],
      [sealed, (i) => command(sealedRoom, `sealed task ${i}`)],
      [echoSealed, (i) => echoTrip(echoRoom, `${i} ${Math.random()}`)],
      [echoPlain, (i) => echoTrip(echoPlainRoom, `${i} ${Math.random()}`)],
    ];
    const random = prng(20);
    const b = bridge;
    const ec = echo;
    for (let i = 0; i < rounds; i++) {
      // A new order each round, and each trip starts with the bridge and the echo idle: work one
      // kind leaves behind after its answer (mirroring, store writes) must not land on the next.
      for (const [into, go] of kinds.map((k) => [random(), k] as const).sort((x, y) => x[0] - y[0]).map(([, k]) => k)) {
        await Promise.all([b.idle(), ec.idle()]);
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        into.push(await go(i));
      }
      if ((i + 1) % 10 === 0 && i + 1 < rounds) progress(`bridge-e2ee: ${i + 1}/${rounds} rounds`);
    }
    const fig = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95) });
    const [p, s, e, ep] = [fig(plain), fig(sealed), fig(echoSealed), fig(echoPlain)];
    progress(
      `bridge-e2ee: p50/p95 ms: command plain ${p.p50.toFixed(0)}/${p.p95.toFixed(0)}, encrypted ${s.p50.toFixed(0)}/${s.p95.toFixed(0)}; ` +
        `echo encrypted ${e.p50.toFixed(0)}/${e.p95.toFixed(0)}, plain ${ep.p50.toFixed(0)}/${ep.p95.toFixed(0)}`,
    );
    const how = `${rounds} rounds, the four kinds in a new random order each round, each from idle, one matrix-js-sdk (Rust crypto) client in every room, each time from its send to the answer decrypted in its timeline`;
    return [
      metric("bridge_e2ee.command_rtt_p50", s.p50, "ms", p.p50, {
        target: { of: "ratio", op: "<=", n: 1.3 },
        note: `!task create → the task's message, in an encrypted room; baseline: the same command in a plain room, same bridge (${how})`,
        bound: BRIDGE_E2EE_BOUND,
      }),
      metric("bridge_e2ee.command_rtt_p95", s.p95, "ms", p.p95, { note: "as above, 95th percentile" }),
      metric("bridge_e2ee.command_vs_echo_p50", s.p50, "ms", e.p50, {
        note: "the encrypted command p50; baseline: an echo appservice on the bridge's crypto (AppserviceHttp + BridgeE2ee) in an encrypted room, which decrypts and re-encrypts and does nothing else",
      }),
      metric("bridge_e2ee.command_vs_echo_p95", s.p95, "ms", e.p95, { note: "as above, 95th percentile" }),
      metric("bridge_e2ee.echo_rtt_p50", e.p50, "ms", ep.p50, { note: "the encrypted echo p50; baseline: the same echo appservice in a plain room (the cost of the crypto alone, both ends)" }),
      metric("bridge_e2ee.echo_rtt_p95", e.p95, "ms", ep.p95, { note: "as above, 95th percentile" }),
      metric("bridge_e2ee.first_command_ms", firstSealed, "ms", firstPlain, {
        note: "!pursuance create, a room's first message: in the encrypted room it carries the room keys' sharing both ways (Olm sessions, key queries); baseline: the plain room's. Not in the percentiles above",
      }),
    ];
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}
