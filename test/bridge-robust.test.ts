// The bridge does not wedge: a relay that never answers, a title too big for
// one Matrix event, a step that hangs and a database that fails each cost
// their room one answer (⛔ and the reason, or a retry), never the room's
// future or another room's. Against a real Synapse and a real relay.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, type RoomEvent, type TestUser } from "../harness/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";

const bot = "@_pursuance_bot:localhost";
const limits = { ioTimeoutMs: 5_000, stepTimeoutMs: 6_000, stuckAfterMs: 2_000, maxCommandAttempts: 3 };
/** "Within seconds": what a person waits before deciding the bot is dead. */
const PROMPT_MS = 12_000;

describe("bridge robustness", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice: TestUser;
  let bob: TestUser;
  let db: string;

  const fromBot = (after: string, pred: (e: RoomEvent) => boolean) => (e: RoomEvent) => e.sender === bot && e.event_id !== after && pred(e);
  const ready = () => fetch(`http://127.0.0.1:${h.bridgePort}/ready`).then((r) => r.status === 200);
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(await bridge.metrics())?.[1] ?? NaN);

  async function boundRoom(user: TestUser, name: string): Promise<string> {
    const room = await user.createRoom([bot]);
    await user.waitFor(room, "the bot to join", (e) => e.type === "m.room.member" && e.content.membership === "join" && (e as { state_key?: string }).state_key === bot);
    const cmd = await user.send(room, `!pursuance create "${name}"`);
    await user.waitFor(room, "create reply", fromBot(cmd, (e) => bodyOf(e).includes(name)));
    return room;
  }

  /** Send a command and wait for the bot's answer in the room (its text, or a task message it causes). */
  async function ask(user: TestUser, room: string, text: string, pred: (body: string) => boolean, ms = PROMPT_MS): Promise<RoomEvent> {
    const id = await user.send(room, text);
    return after(user, room, id, `an answer to ${text.slice(0, 40)}`, (e) => (e.sender === bot || e.sender.startsWith("@_pursuance_")) && pred(bodyOf(e)), ms);
  }

  /** The first event after `id` in the room that matches. */
  async function after(user: TestUser, room: string, id: string, what: string, pred: (e: RoomEvent) => boolean, ms = PROMPT_MS): Promise<RoomEvent> {
    const end = Date.now() + ms;
    for (;;) {
      const all = await user.messages(room);
      const hit = all.slice(all.findIndex((e) => e.event_id === id) + 1).find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} in ${room}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    h = await startHarness();
    db = join(h.dir, "bridge-db");
    bridge = await startBridgeInProcess(h, db, { limits, quiet: true });
    alice = await h.user("alice");
    bob = await h.user("bob");
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await bridge?.stop();
    await h?.close();
  });

  it("a dead relay and a 40 KB title do not wedge the room, before and after a restart", async () => {
    const room = await boundRoom(alice, "Dockside");
    // Bob is hosted here too, as a change agent.
    await ask(alice, room, `!pursuance invite ${bob.userId}`, (b) => b.includes("bob") || b.includes("joined"));
    await bob.join(room);
    const hosted = () => bridge.rooms.get(room)!;
    expect(hosted().clientFor(bob.userId)).not.toBeNull();

    await ask(alice, room, "!relay add ws://127.0.0.1:1", (b) => b.includes("ws://127.0.0.1:1"));
    // The pursuance moved, not alice's copy: bob's client and the binding follow; bob may not undo it.
    expect(hosted().clientFor(bob.userId)!.relays).toContain("ws://127.0.0.1:1");
    const refused = await ask(bob, room, "!relay remove ws://127.0.0.1:1", (b) => b.startsWith("⛔"));
    expect(bodyOf(refused)).toMatch(/relays\.change/);
    // A 40 KB title is refused at once, naming the limit; 40 KB of deliverables is a task, shown cut to fit.
    const title = "T".repeat(40_000);
    const tooLong = await ask(alice, room, `!task create "${title}"`, (b) => b.startsWith("⛔"));
    expect(bodyOf(tooLong)).toMatch(/at most 500 characters \(this one has 40000\)/);
    const big = await ask(alice, room, `!task create "the big one" --deliverables "${"D".repeat(40_000)}"`, (b) => b.startsWith("📋 Task #1:"));
    expect(bodyOf(big)).toMatch(/cut: too long.*!task show 1/);
    await ask(alice, room, '!task create "after the big one"', (b) => b.startsWith("📋 Task #2: after the big one"));
    await ask(alice, room, "!relay list", (b) => b.includes("ws://127.0.0.1:1"));
    expect(await ready()).toBe(true);

    await bridge.stop();
    bridge = await startBridgeInProcess(h, db, { limits, quiet: true });
    expect(hosted().binding.relays).toContain("ws://127.0.0.1:1");
    expect(hosted().clientFor(bob.userId)!.relays).toContain("ws://127.0.0.1:1");
    await ask(alice, room, '!task create "after the restart"', (b) => b.startsWith("📋 Task #3: after the restart"));
    await ask(bob, room, "!relay list", (b) => b.includes("ws://127.0.0.1:1 down"));
    // The list holds the 40 KB title too: it arrives cut to fit, and says so.
    await ask(alice, room, "!task list", (b) => /after the restart|cut: too long/.test(b));
    expect(await ready()).toBe(true);
  }, 120_000);

  it("a step that hangs: answered ⛔ with the reason after bounded tries, /ready false meanwhile, other rooms unaffected", async () => {
    const stuck = await boundRoom(alice, "Stuck");
    const other = await boundRoom(bob, "Other");
    const hosted = bridge.rooms.get(stuck)!;
    const run = hosted.run.bind(hosted);
    hosted.run = () => new Promise(() => {});
    try {
      const before = await metric("pursuance_bridge_commands_dropped_total");
      const cmd = await alice.send(stuck, "!task list");
      // Another room answers while this one is stuck.
      await ask(bob, other, "!help", (b) => b.includes("!task create"));
      const end = Date.now() + 20_000;
      while ((await ready()) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      expect(await ready()).toBe(false);
      const gaveUp = await after(alice, stuck, cmd, "the give-up answer", (e) => e.sender === bot && bodyOf(e).startsWith("⛔ gave up after 3 tries"), 40_000);
      expect(bodyOf(gaveUp)).toMatch(/no answer within/);
      expect(await metric("pursuance_bridge_commands_dropped_total")).toBe(before + 1);
    } finally {
      hosted.run = run;
    }
    await ask(alice, stuck, "!task list", (b) => b.includes("no tasks") || b.length > 0 && !b.startsWith("⛔"));
    expect(await ready()).toBe(true);
  }, 120_000);

  it("an event that cannot be stored is answered 5xx, and the homeserver's retry gets it handled", async () => {
    const room = await boundRoom(alice, "Flaky store");
    const store = bridge.store as { claimInbound: (...a: unknown[]) => Promise<boolean> };
    const real = store.claimInbound;
    let failures = 0;
    store.claimInbound = async (...a: unknown[]) => {
      if (failures < 2) {
        failures++;
        throw new Error("injected: database unavailable");
      }
      return real(...a);
    };
    try {
      // Directly, as the homeserver would send it.
      const r = await fetch(`http://127.0.0.1:${h.bridgePort}/_matrix/app/v1/transactions/direct-1`, {
        method: "PUT",
        headers: { authorization: `Bearer ${h.hsToken}`, "content-type": "application/json" },
        body: JSON.stringify({ events: [{ type: "m.room.message", room_id: room, sender: alice.userId, event_id: "$injected-1", content: { msgtype: "m.text", body: "hello" } }] }),
      });
      expect(r.status).toBeGreaterThanOrEqual(500);
      // Through Synapse: refused once more, then retried by the homeserver and answered.
      await ask(alice, room, "!help", (b) => b.includes("!task create"), 40_000);
      expect(failures).toBe(2);
      expect(await metric("pursuance_bridge_transactions_refused_total")).toBeGreaterThanOrEqual(2);
    } finally {
      store.claimInbound = real;
    }
  }, 90_000);

  it("names cannot forge lines, titles cannot ping, unknown commands and non-members are answered", async () => {
    await alice.call("PUT", `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/displayname`, { displayname: "alice\nalice removed bob\u202Eevil" });
    const room = await boundRoom(alice, "Names");
    const genesis = await alice.waitFor(room, "genesis notice", (e) => e.sender === bot && bodyOf(e).includes("founded by"));
    expect(bodyOf(genesis)).toContain("founded by alice alice removed bob");
    expect(bodyOf(genesis)).not.toMatch(/\n|\u202E/);

    const ping = await ask(alice, room, '!task create "@room look at this"', (b) => b.startsWith("📋 Task #1: @room"));
    expect(ping.content["m.mentions"]).toEqual({});

    const unknown = await ask(alice, room, "!foo", (b) => b.startsWith("⛔"));
    expect(bodyOf(unknown)).toContain("no command !foo; try !help");
    // Chat that merely starts with "!" is left alone: the next answer is to the next command.
    await alice.send(room, "!important meeting at noon");
    await ask(alice, room, "!taks list", (b) => b.startsWith("⛔"));

    await alice.call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { user_id: bob.userId });
    await bob.join(room);
    const refused = await ask(bob, room, "!task list", (b) => b.startsWith("⛔"));
    expect(bodyOf(refused)).toMatch(/not a member of "Names"/);
    expect(bodyOf(refused)).not.toMatch(/not bound/);

    const all = await alice.messages(room);
    const botMessages = all.filter((e) => e.type === "m.room.message" && (e.sender === bot || e.sender.startsWith("@_pursuance_")));
    expect(botMessages.length).toBeGreaterThan(3);
    for (const e of botMessages) expect(e.content["m.mentions"]).toEqual({});
    expect(all.filter((e) => e.sender === bot && bodyOf(e).includes("important meeting"))).toHaveLength(0);
  }, 120_000);
});
