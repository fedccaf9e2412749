// The bridge against a real Synapse and a real relay: Matrix users run a
// pursuance with `!` commands; replies, task messages and threads checked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "./helpers/bridge-harness.js";
import { bodyOf, type TestUser } from "./helpers/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "./helpers/synapse.js";

describe("bridge with a real Synapse", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice: TestUser;
  let room: string;
  const bot = "@_pursuance_bot:localhost";

  beforeAll(async () => {
    h = await startHarness();
    bridge = await startBridgeInProcess(h);
    alice = await h.user("alice");
    room = await alice.createRoom([bot]);
    await alice.waitFor(room, "the bot to join", (e) => e.type === "m.room.member" && e.content.membership === "join" && (e as { state_key?: string }).state_key === bot);
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await bridge?.stop();
    await h?.close();
  });

  it("a Matrix user founds a pursuance and works a task through", async () => {
    const cmd = await alice.send(room, '!pursuance create "Watchdogs"');
    const reply = await alice.waitFor(room, "create reply", (e) => e.sender === bot && bodyOf(e).includes("Watchdogs") && e.origin_server_ts > 0 && e.event_id !== cmd);
    expect(bodyOf(reply)).toMatch(/Watchdogs/);
    const hosted = bridge.rooms.get(room)!;
    expect(hosted).toBeDefined();

    await alice.send(room, '!task create "FOIA letter to the port authority"');
    const taskMsg = await alice.waitFor(room, "task message", (e) => bodyOf(e).startsWith("📋 Task #1: FOIA letter to the port authority"));
    const c = hosted.clientFor(alice.userId)!;
    expect(c.state.taskIds).toHaveLength(1);

    await alice.sendInThread(room, taskMsg.event_id, "draft is ready");
    await waitUntil(() => c.state.tasks.get(c.state.taskIds[0]!)!.comments.length === 1, "comment folded");

    await alice.send(room, `!task assign 1 ${alice.userId}`);
    await waitUntil(() => c.state.tasks.get(c.state.taskIds[0]!)!.assignee !== null, "assignment");
    await alice.send(room, "!task close 1 sent by post");
    await alice.waitFor(room, "close notice", (e) => bodyOf(e).includes("#1 closed by"));
    expect(c.state.tasks.get(c.state.taskIds[0]!)!.closed).toBe(true);

    // The comment made in Matrix is not posted again by the mirror.
    const all = await alice.messages(room);
    expect(all.filter((e) => bodyOf(e).includes("draft is ready"))).toHaveLength(1);
  });

  it("refuses a malformed command with the reason and the usage line, changing nothing", async () => {
    const c = bridge.rooms.get(room)!.clientFor(alice.userId)!;
    const before = c.session.log.size;
    await alice.send(room, "!task close 99");
    const r = await alice.waitFor(room, "refusal", (e) => e.sender === bot && bodyOf(e).startsWith("⛔") && bodyOf(e).includes("#99"));
    expect(bodyOf(r)).toMatch(/usage: !task close/);
    expect(c.session.log.size).toBe(before);
  });
});

async function waitUntil(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
