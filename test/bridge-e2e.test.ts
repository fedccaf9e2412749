// The bridge against a real Synapse and a real relay: Matrix users run a
// pursuance with `!` commands; replies, task messages and threads checked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, type TestUser } from "../harness/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite } from "../src/pursuance/invite.js";
import { commentBody, delegateBody, taskCreateBody } from "../src/pursuance/actions.js";
import { encodeInvite } from "../src/pursuance/invite.js";
import { sql } from "drizzle-orm";
import { taskView } from "../src/pursuance/views.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

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
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
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

  it("a CLI member and the room see each other's tasks; a seedling is refused and nothing changes", async () => {
    const hosted = bridge.rooms.get(room)!;
    const c = hosted.clientFor(alice.userId)!;
    // A CLI member who keeps their own keys joins with an invite printed in the room.
    await alice.send(room, "!pursuance invite --role admin");
    await alice.waitFor(room, "pointer to the DM", (e) => e.sender === bot && bodyOf(e).includes("sent you the invite in a direct message"));
    expect((await alice.messages(room)).some((e) => bodyOf(e).includes("pursuance:invite/"))).toBe(false);
    const dm = await alice.directChatWith(bot);
    const inv = await alice.waitFor(dm, "invite", (e) => e.sender === bot && bodyOf(e).includes("pursuance:invite/"));
    const code = /pursuance:invite\/\S+/.exec(bodyOf(inv))![0];
    const cli = await PursuanceClient.join(await ports(), await identity(), decodeInvite(code), "carol", { fallbackDutyMs: 500, repairDelayMs: 50 });
    clients.push(cli);
    await waitUntil(() => c.state.members.has(cli.me), "carol's join reaches the bridge");
    await until("carol holds the admin key", () => cli.state.keys.get("admin")!.holders.has(cli.me), [cli]);

    // Carol (CLI) sees the room's task and writes one: it appears in the room from her ghost.
    await until("carol sees task #1", () => cli.state.taskIds.length >= 1, [cli]);
    expect(taskView(cli, cli.state.tasks.get(cli.state.taskIds[0]!)!).title).toBe("FOIA letter to the port authority");
    await cli.publish(taskCreateBody(cli.actor, cli.state, { text: { title: "Scan the ledger", deliverables: "" }, readers: ["change agent"] }));
    const ghostMsg = await alice.waitFor(room, "carol's task", (e) => bodyOf(e).includes("Scan the ledger"));
    expect(ghostMsg.sender).toBe(`@_pursuance_${cli.me.slice(0, 16)}:localhost`);

    // A Matrix user admitted as a seedling is refused what seedlings may not do, and nothing reaches the log.
    const bob = await h.user("bob");
    await alice.send(room, `!pursuance invite ${bob.userId} --role seedling`);
    await alice.waitFor(room, "bob admitted", (e) => bodyOf(e).includes(`${bob.userId} joined as seedling`));
    await bob.join(room);
    const bobClient = hosted.clientFor(bob.userId)!;
    const before = bobClient.session.log.size;
    await bob.send(room, "!task close 1");
    const refusal = await alice.waitFor(room, "bob refused", (e) => e.sender === bot && bodyOf(e).startsWith("⛔") && e.origin_server_ts > 0 && /task\.close|cannot read/.test(bodyOf(e)));
    expect(bodyOf(refusal)).toMatch(/usage: !task close/);
    expect(bobClient.session.log.size).toBe(before);
  });

  it("a role whose key the bridge does not hold never shows in plaintext, in the room or its database", async () => {
    // Carol founds with her own keys; Dave binds a room by joining as a change agent.
    const carol = await PursuanceClient.create(await ports(), await identity(), { name: "Ledger Watch", founderName: "carol", relays: [h.relay.url], fallbackDutyMs: 500, repairDelayMs: 50 });
    clients.push(carol);
    const dave = await h.user("dave");
    const room2 = await dave.createRoom([bot]);
    await dave.waitFor(room2, "the bot to join", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === bot && e.content.membership === "join");
    await dave.send(room2, `!pursuance join ${encodeInvite(await carol.createInvite("change agent"))}`);
    await dave.waitFor(room2, "joined", (e) => e.sender === bot && bodyOf(e).includes("joined Ledger Watch as change agent"));
    const hosted = bridge.rooms.get(room2)!;
    const d = hosted.clientFor(dave.userId)!;
    await until("dave's join reaches carol", () => carol.state.members.has(d.me), [carol]);
    await until("dave holds the change agent key", () => d.state.keys.get("change agent")!.holders.has(d.me), [carol, d]);

    await carol.publish(taskCreateBody(carol.actor, carol.state, { text: { title: "Open call for volunteers", deliverables: "" }, readers: ["change agent"] }));
    const open = await dave.waitFor(room2, "readable task", (e) => bodyOf(e).includes("Open call for volunteers"));
    expect(open.sender).toBe(`@_pursuance_${carol.me.slice(0, 16)}:localhost`);

    const secret = "SECRET-LEDGER-4471";
    const t = await carol.publish(taskCreateBody(carol.actor, carol.state, { text: { title: secret, deliverables: `${secret} deliverable` }, readers: ["admin"] }));
    await carol.publish(commentBody(carol.actor, carol.state.tasks.get(t.id)!, `${secret} comment`));
    const sealed = await dave.waitFor(room2, "sealed task", (e) => bodyOf(e).startsWith("🔒 Task #2 exists"));
    expect(bodyOf(sealed)).toContain("readers: admin");
    // Dave (change agent) may not read #2: its thread, even the fact of a comment, stays out of his room.
    await bridge.idle();
    const msgs = await dave.messages(room2);
    expect(msgs.some((e) => JSON.stringify(e.content).includes("SECRET-LEDGER"))).toBe(false);

    // Every row of every table of the bridge's database, bytes included.
    const tables = (await bridge.db.db.execute(sql`select tablename from pg_tables where schemaname = 'public'`)) as unknown as { rows: Array<{ tablename: string }> };
    let scanned = 0;
    for (const { tablename } of tables.rows) {
      const rows = (await bridge.db.db.execute(sql.raw(`select * from "${tablename}"`))) as unknown as { rows: Array<Record<string, unknown>> };
      for (const row of rows.rows) {
        scanned++;
        for (const v of Object.values(row)) {
          const text = v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : String(v);
          expect(text.includes("SECRET-LEDGER")).toBe(false);
        }
      }
    }
    expect(scanned).toBeGreaterThan(10);

    // Dave's refusals leave the log as it was.
    const size = d.session.log.size;
    await dave.send(room2, "!task comment 2 let me in");
    const r = await dave.waitFor(room2, "refusal", (e) => e.sender === bot && bodyOf(e).startsWith("⛔") && bodyOf(e).includes("#2"));
    expect(bodyOf(r)).toMatch(/cannot (read|open)/);
    expect(d.session.log.size).toBe(size);

    // And Dave's own task reaches Carol, readable.
    await dave.send(room2, '!task create "Photograph the ledger"');
    await until("carol sees dave's task", () => [...carol.state.tasks.values()].some((x) => taskView(carol, x).title === "Photograph the ledger"), [carol]);

    // Carol delegates the admin key to the bridge: admin tasks now show; she takes it back: they stop.
    await dave.send(room2, "!keys delegate admin");
    const how = await dave.waitFor(room2, "delegation instructions", (e) => e.sender === bot && bodyOf(e).includes("keys delegate"));
    const bridgeKey = /--to ([0-9a-f]{64})/.exec(bodyOf(how))![1]!;
    await carol.publish(delegateBody(carol.actor, carol.state, "admin", bridgeKey));
    await carol.publish(taskCreateBody(carol.actor, carol.state, { text: { title: "Delegated admin task", deliverables: "" }, readers: ["admin"] }));
    // The bridge can read it now, but Dave may not: his room shows the lock line, never the title.
    await waitUntil(() => hosted.readable("admin"), "the bridge reads admin");
    await waitUntil(() => hosted.view(hosted.primary!.state.taskIds[3]!)?.title === "Delegated admin task", "the bridge opens #4");
    await dave.waitFor(room2, "task #4 locked for dave", (e) => bodyOf(e).startsWith("🔒 Task #4 exists"));
    expect((await dave.messages(room2)).some((e) => bodyOf(e).includes("Delegated admin task"))).toBe(false);
    await dave.send(room2, "!keys status");
    await dave.waitFor(room2, "key status", (e) => e.sender === bot && /admin/.test(bodyOf(e)) && /carol/.test(bodyOf(e)));

    await carol.publish({ t: "keys.undelegate", role: "admin", to: bridgeKey });
    await until("admin key rotated away from the bridge", () => !carol.state.keys.get("admin")!.needsRotation && !carol.state.keys.get("group")!.needsRotation, [carol]);
    const after = "AFTER-REVOKE-9932";
    await carol.publish(taskCreateBody(carol.actor, carol.state, { text: { title: after, deliverables: "" }, readers: ["admin"] }));
    await dave.waitFor(room2, "sealed again", (e) => bodyOf(e).startsWith("🔒 Task #5 exists"));
    expect((await dave.messages(room2)).some((e) => JSON.stringify(e.content).includes(after))).toBe(false);
  });
});

async function waitUntil(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
