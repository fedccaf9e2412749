// Asking to join through Matrix and through the CLI, answered in Matrix (real
// Synapse, relay and bridge): a Matrix user asks with `!pursuance request` in
// a room of their own and is admitted (the room is then bound and they act in
// it); a CLI requester is refused and is told why; both outcomes are the same
// for the answering member and for the admitted one.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, type TestUser } from "../harness/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";
import { ok, startCli } from "./helpers/cli.js";

const bot = "@_pursuance_bot:localhost";
const ADDRESS = /pursuance:request\/[A-Za-z0-9_-]+/;

describe("join requests through Matrix and the CLI", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice!: TestUser, bob!: TestUser, carol!: TestUser;
  const homes: string[] = [];
  let room = "";
  let address = "";

  beforeAll(async () => {
    h = await startHarness();
    bridge = await startBridgeInProcess(h, join(h.dir, "bridge-db"), { quiet: !process.env.BRIDGE_LOG });
    [alice, bob, carol] = (await Promise.all([h.user("rq_alice"), h.user("rq_bob"), h.user("rq_carol")])) as [TestUser, TestUser, TestUser];
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await bridge?.stop();
    await h?.close();
    for (const d of homes) rmSync(d, { recursive: true, force: true });
  });

  /** The bot's first matching message after the command, in the room's order. */
  const reply = async (u: TestUser, room: string, text: string, pred: (b: string) => boolean, timeoutMs = 30_000) => {
    const sent = await u.send(room, text);
    const end = Date.now() + timeoutMs;
    for (;;) {
      const msgs = await u.messages(room);
      const hit = msgs.slice(msgs.findIndex((e) => e.event_id === sent) + 1).find((e) => e.sender === bot && pred(bodyOf(e)));
      if (hit) return bodyOf(hit);
      if (Date.now() > end) throw new Error(`no answer to ${text}: ${msgs.slice(-5).map(bodyOf).join(" | ")}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const newRoom = async (u: TestUser) => {
    const room = await u.createRoom([bot], { power_level_content_override: { users: { [bot]: 100 } } });
    await u.waitFor(room, "the bot", (e) => e.type === "m.room.member" && e.sender === bot);
    return room;
  };

  it("a Matrix requester admitted, a CLI requester refused; both sides see both outcomes", async () => {
    room = await newRoom(alice);
    await reply(alice, room, '!pursuance create "Open Door"', (b) => b.includes("created Open Door"));
    expect(await reply(alice, room, "!pursuance requests", (b) => b.includes("requests are"))).toContain("requests are closed");
    const opened = await reply(alice, room, "!pursuance requests open --limit 5 --work 12", (b) => ADDRESS.test(b) || b.startsWith("⛔"));
    address = ADDRESS.exec(opened)![0];

    // bob, on Matrix, asks from a room of his own; the answer comes to that room.
    const bobRoom = await newRoom(bob);
    expect(await reply(bob, bobRoom, `!pursuance request ${address} --message "I can translate"`, (b) => /asked to join|⛔/.test(b))).toBe(
      "asked to join Open Door; a member's answer will be posted here",
    );
    // A damaged address is refused with the reason, and binds nothing.
    expect(await reply(bob, bobRoom, "!pursuance request pursuance:request/garbage", (b) => b.startsWith("⛔"))).toMatch(/request address/);
    await expect
      .poll(async () => reply(alice, room, "!pursuance requests", (b) => b.includes("requests are")), { timeout: 30_000, interval: 1000 })
      .toMatch(/rq_bob \([0-9a-f]{12}\): pending — "I can translate"/);
    await reply(alice, room, "!pursuance admit rq_bob --role admin", (b) => /admitted rq_bob|⛔/.test(b));
    await bob.waitFor(bobRoom, "the admission", (e) => e.sender === bot && bodyOf(e).startsWith("Open Door admitted you as admin"), 60_000);
    await bob.waitFor(bobRoom, "the join", (e) => e.sender === bot && bodyOf(e) === "joined Open Door as admin; this room is bound to it", 60_000);
    // Bound: bob works in the pursuance from his room.
    expect(await reply(bob, bobRoom, '!task create "Translate the call for tips"', (b) => /#\d|⛔/.test(b))).not.toMatch(/^⛔/);

    // dave, on the CLI, asks and is refused from Matrix, with a reason he is told.
    const home = mkdtempSync(join(tmpdir(), "rq-dave-"));
    homes.push(home);
    await ok(["client", "init", "--name", "dave", "--home", home]);
    const dave = startCli(["client", "request", address, "--timeout", "90s", "--home", home]);
    try {
      await expect
        .poll(async () => reply(alice, room, "!pursuance requests", (b) => b.includes("requests are")), { timeout: 45_000, interval: 1000 })
        .toMatch(/dave \([0-9a-f]{12}\): pending/);
      await reply(alice, room, '!pursuance refuse dave "we only take people we have met"', (b) => /refused dave|⛔/.test(b));
      const d = await dave.done;
      expect(d.code, d.stderr).toBe(4);
      expect(d.stdout.trim()).toBe("refused by rq_alice: we only take people we have met");
    } finally {
      dave.proc.kill("SIGKILL");
    }

    // The same outcomes for the answerer and for the admitted member, in their own rooms.
    for (const [u, r] of [[alice, room], [bob, bobRoom]] as const) {
      await expect
        .poll(async () => reply(u, r, "!pursuance requests", (b) => b.includes("requests are")), { timeout: 30_000, interval: 1000 })
        .toMatch(/rq_bob \([0-9a-f]{12}\): admitted as admin by rq_alice[\s\S]*dave \([0-9a-f]{12}\): refused by rq_alice: we only take people we have met/);
    }
  }, 300_000);

  it("a request made before the bridge restarts is still waited for, and its answer still reaches the room", async () => {
    const carolRoom = await newRoom(carol);
    await reply(carol, carolRoom, `!pursuance request ${address}`, (b) => /asked to join|⛔/.test(b));
    await expect
      .poll(async () => reply(alice, room, "!pursuance requests", (b) => b.includes("requests are")), { timeout: 30_000, interval: 1000 })
      .toMatch(/rq_carol \([0-9a-f]{12}\): pending/);
    await bridge.stop();
    bridge = await startBridgeInProcess(h, join(h.dir, "bridge-db"), { quiet: !process.env.BRIDGE_LOG });
    await reply(alice, room, "!pursuance admit rq_carol", (b) => /admitted rq_carol|⛔/.test(b));
    await carol.waitFor(carolRoom, "the join after the restart", (e) => e.sender === bot && bodyOf(e) === "joined Open Door as change agent; this room is bound to it", 60_000);
  }, 180_000);
});
