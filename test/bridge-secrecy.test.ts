// Secrecy of the bridge against a real Synapse, a real relay and a real
// PostgreSQL: a room shows a task only if everyone in it may read it; the
// rest goes to role rooms; invites never land in shared rooms; one identity
// per person per pursuance across rooms; no key at rest in the clear.
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite } from "../src/pursuance/invite.js";
import { openContentKey } from "../src/pursuance/task-crypto.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, type RoomEvent, type TestUser } from "../harness/matrix.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";
import { scanForSecrets, type Secret } from "./helpers/secret-scan.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";

const bot = "@_pursuance_bot:localhost";
const ADMIN_URL = process.env.PURSUANCE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const SECRET = "ADMIN-SECRET";
const TOKEN = /pursuance:invite\/[A-Za-z0-9_-]+/;

async function eventually(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Everything a user's client can fetch: a full /sync (every room, state and timeline) as text. */
async function everythingSeenBy(u: TestUser): Promise<string> {
  const r = await u.call<Record<string, unknown>>("GET", "/_matrix/client/v3/sync?timeout=0&full_state=true&filter=" + encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 500 } } })));
  return JSON.stringify(r);
}

/** A room the user makes with the bot invited at power level 100 (so it can redact and set history). */
async function roomWithBot(u: TestUser): Promise<string> {
  const room = await u.createRoom([bot], { power_level_content_override: { users: { [bot]: 100 } } });
  await u.waitFor(room, "the bot to join", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === bot && e.content.membership === "join");
  return room;
}

function secretsOf(clients: PursuanceClient[], extra: Secret[] = []): Secret[] {
  const out: Secret[] = [...extra];
  for (const c of clients) {
    out.push({ what: `identity ${c.me.slice(0, 8)}`, bytes: c.identity.secretKey }, { what: `identity seed ${c.me.slice(0, 8)}`, bytes: c.identity.secretKey.slice(0, 32) });
    for (const k of c.ring.all()) out.push({ what: `${k.scope} key ${k.keyId.slice(0, 8)}`, bytes: k.key });
    for (const t of c.state.tasks.values()) {
      const ck = openContentKey(c.crypto, c.ring, c.identity, c.me, t);
      if (ck) out.push({ what: `content key of #${t.num}`, bytes: ck });
    }
  }
  return out;
}

describe("bridge secrecy (real Synapse, relay, PostgreSQL)", () => {
  let h: Harness;
  let bridge: Bridge;
  let pgName = "";
  const pgAdmin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const clients: PursuanceClient[] = [];
  let alice!: TestUser, bob!: TestUser, eve!: TestUser, dan!: TestUser;
  let main = "";

  beforeAll(async () => {
    h = await startHarness();
    pgName = `bridge_secrecy_${randomBytes(6).toString("hex")}`;
    await pgAdmin.unsafe(`create database ${pgName}`);
    const u = new URL(ADMIN_URL);
    u.pathname = `/${pgName}`;
    bridge = await startBridgeInProcess(h, u.toString(), { quiet: !process.env.BRIDGE_LOG });
    [alice, bob, eve, dan] = (await Promise.all(["s_alice", "s_bob", "s_eve", "s_dan"].map((n) => h.user(n)))) as [TestUser, TestUser, TestUser, TestUser];
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    for (const c of clients) c.close();
    await bridge?.stop();
    await h?.close();
    if (pgName) await pgAdmin.unsafe(`drop database if exists ${pgName} with (force)`);
    await pgAdmin.end();
  });

  const adminRoom = async () => bridge.store.roleRoom(bridge.rooms.get(main)!.binding.groupId, "admin");

  it("a seedling and a non-member in the main room never see an admin-only task; the admin room does", async () => {
    main = await roomWithBot(alice);
    await alice.send(main, '!pursuance create "Secrecy"');
    await alice.waitFor(main, "created", (e) => e.sender === bot && bodyOf(e).includes("created Secrecy"));
    const hosted = bridge.rooms.get(main)!;
    // The bridge keeps later joiners from earlier history.
    const hv = await alice.call<{ history_visibility: string }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(main)}/state/m.room.history_visibility/`);
    expect(hv.history_visibility).toBe("joined");

    await alice.send(main, `!pursuance invite ${bob.userId} --role seedling`);
    await alice.waitFor(main, "bob admitted", (e) => bodyOf(e).includes(`${bob.userId} joined as seedling`));
    await bob.join(main);
    await alice.send(main, `!pursuance invite ${dan.userId} --role admin`);
    await alice.waitFor(main, "dan admitted", (e) => bodyOf(e).includes(`${dan.userId} joined as admin`));
    await dan.join(main);
    // Eve is invited to the Matrix room but never to the pursuance.
    await alice.call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(main)}/invite`, { user_id: eve.userId });
    await eve.join(main);
    await alice.waitFor(main, "the non-member notice", (e) => e.sender === bot && bodyOf(e).startsWith(`${eve.userId} is in this room but is not a member`));

    // A CLI member (own keys, through the relay) joins as admin with an invite that comes in a direct message.
    await alice.send(main, "!pursuance invite --role admin");
    await alice.waitFor(main, "pointer to the DM", (e) => e.sender === bot && bodyOf(e).includes("sent you the invite in a direct message"));
    const dm = (await bridge.store.directRoom(alice.userId))!;
    expect(dm).toBeTruthy();
    await alice.join(dm);
    const inv = await alice.waitFor(dm, "the invite in the DM", (e) => e.sender === bot && TOKEN.test(bodyOf(e)));
    const carol = await PursuanceClient.join(await ports(), await identity(), decodeInvite(TOKEN.exec(bodyOf(inv))![0]), "carol", { fallbackDutyMs: 500, repairDelayMs: 50 });
    clients.push(carol);
    await until("carol holds the admin key", () => carol.state.keys.get("admin")?.holders.has(carol.me) ?? false, [carol]);
    const direct = await alice.call<{ content?: { is_direct?: boolean } }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/state/m.room.member/${encodeURIComponent(alice.userId)}`);
    expect(direct).toBeDefined();

    // Admin-only task from the CLI member.
    await carol.publish(taskCreateBody(carol.actor, carol.state, { text: { title: `${SECRET} from the CLI`, deliverables: `${SECRET} deliverable` }, readers: ["admin"] }));
    await alice.waitFor(main, "lock line #1", (e) => bodyOf(e).startsWith("🔒 Task #1 exists (readers: admin)"));
    await eventually("the admin room is made", async () => (await adminRoom()) !== null);
    const admin = (await adminRoom())!;
    await eventually("dan invited to the admin room", async () => (await bridge.matrix.members(admin)).includes(dan.userId));
    await dan.join(admin);
    await dan.waitFor(admin, "the task in full in the admin room", (e) => bodyOf(e).includes(`📋 Task #1: ${SECRET} from the CLI`));

    // Admin-only task from a command typed in the main room: shown in the admin room, the command taken out of the main room.
    const cmd = await dan.send(main, `!task create "${SECRET} by command" --role admin`);
    await alice.waitFor(main, "lock line #2", (e) => bodyOf(e).startsWith("🔒 Task #2 exists (readers: admin)"));
    await dan.waitFor(admin, "task #2 in the admin room", (e) => bodyOf(e).includes(`📋 Task #2: ${SECRET} by command`));
    await alice.waitFor(main, "the command redacted", (e) => e.event_id === cmd && Object.keys(e.content).length === 0);
    // A comment typed as a command in the main room is recorded, and taken out of the room.
    const typed = await dan.send(main, `!task comment 1 ${SECRET} typed in the main room`);
    await alice.waitFor(main, "the comment command redacted", (e) => e.event_id === typed && Object.keys(e.content).length === 0);
    await dan.waitFor(admin, "the comment in the admin room", (e) => bodyOf(e).includes(`${SECRET} typed in the main room`));
    // A comment in the admin room's thread stays there.
    const root = await dan.waitFor(admin, "root #1", (e) => bodyOf(e).startsWith("📋 Task #1"));
    await dan.sendInThread(admin, root.event_id, `${SECRET} comment from dan`);
    await eventually("dan's comments folded", () => hosted.primary!.state.tasks.get(hosted.primary!.state.taskIds[0]!)!.comments.length === 2);
    // Whatever the spelling (a root alias, a renamed subcommand) and whether or not the rules
    // allow it, a command carrying a task's content leaves a room that may not read the task.
    const retitle = await bob.send(main, `!task retitle 1 ${SECRET} as a new title`);
    await alice.waitFor(main, "the retitle command redacted", (e) => e.event_id === retitle && Object.keys(e.content).length === 0);
    const aliased = await bob.send(main, `!tasks comment 1 ${SECRET} through an alias`);
    await alice.waitFor(main, "the aliased comment redacted", (e) => e.event_id === aliased && Object.keys(e.content).length === 0);

    await bridge.idle();
    for (const u of [bob, eve]) {
      const seen = await everythingSeenBy(u);
      expect(seen).not.toContain(SECRET);
      expect(seen).toContain("🔒 Task #1 exists");
      expect(seen).not.toMatch(TOKEN);
    }
    expect((await alice.messages(main)).some((e) => JSON.stringify(e.content).includes(SECRET))).toBe(false);
    expect(await bridge.matrix.members(admin)).not.toContain(bob.userId);
  });

  it("a seedling granted admin reads the task in the admin room; the main room still shows only the lock line", async () => {
    const admin = (await adminRoom())!;
    await alice.send(main, `!role grant ${bob.userId} admin`);
    await eventually("bob invited to the admin room", async () => (await bridge.matrix.members(admin)).includes(bob.userId));
    await bob.join(admin);
    await bob.waitFor(admin, "task #1 readable to bob", (e) => bodyOf(e).includes(`📋 Task #1: ${SECRET} from the CLI`));
    await bob.waitFor(admin, "task #2 readable to bob", (e) => bodyOf(e).includes(`📋 Task #2: ${SECRET} by command`));
    // A reply that would quote the task (alice asks for it in the main room) goes to her direct chat instead.
    const ask = await alice.send(main, "!task show 1");
    await alice.waitFor(main, "pointer to the DM for the answer", (e) => e.sender === bot && bodyOf(e).startsWith("sent you the answer") && e.origin_server_ts > 0);
    const dm = (await bridge.store.directRoom(alice.userId))!;
    await alice.waitFor(dm, "the answer in the DM", (e) => e.sender === bot && bodyOf(e).includes(`${SECRET} from the CLI`));
    expect((await alice.messages(main)).some((e) => e.event_id === ask)).toBe(true);
    // Eve (no member) is still in the main room: nothing there may show the tasks.
    await bridge.idle();
    await new Promise((r) => setTimeout(r, 1500));
    expect((await bob.messages(main)).some((e) => JSON.stringify(e.content).includes(SECRET))).toBe(false);
    expect(await everythingSeenBy(eve)).not.toContain(SECRET);

    // Eve leaves: every one left in the main room may read admin tasks, so they show there now, with their comments.
    await eve.call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(main)}/leave`, {});
    await alice.waitFor(main, "task #1 in the main room once all may read it", (e) => bodyOf(e).includes(`📋 Task #1: ${SECRET} from the CLI`));
    await alice.waitFor(main, "its comment follows", (e) => bodyOf(e).includes(`${SECRET} comment from dan`));
    expect(await everythingSeenBy(eve)).not.toContain(SECRET);
  });

  it("a pasted invite is redacted from a shared room, with a note why", async () => {
    await alice.send(main, "!pursuance invite --role seedling");
    await alice.waitFor(main, "second pointer to the DM", (e) => e.sender === bot && bodyOf(e).includes("sent you the invite in a direct message") && e.origin_server_ts > 0);
    const dm = (await bridge.store.directRoom(alice.userId))!;
    const msgs = (await alice.messages(dm)).filter((e) => TOKEN.test(bodyOf(e)));
    const token = TOKEN.exec(bodyOf(msgs[msgs.length - 1]!))![0];
    const pasted = await bob.send(main, `here, use this: ${token}`);
    await alice.waitFor(main, "the note", (e) => e.sender === bot && bodyOf(e).includes(`Removed a message from ${bob.userId}`));
    await alice.waitFor(main, "the paste redacted", (e) => e.event_id === pasted && Object.keys(e.content).length === 0);
    for (const u of [alice, bob, dan]) expect(JSON.stringify(await u.messages(main))).not.toMatch(TOKEN);
  });

  it("a second room bound to the pursuance: the same identity, commands answered in both, threads in their own room", async () => {
    const hosted = bridge.rooms.get(main)!;
    const before = hosted.clientFor(alice.userId)!.me;
    await alice.send(main, "!pursuance invite --role admin");
    const dm = (await bridge.store.directRoom(alice.userId))!;
    await eventually("a third invite in the DM", async () => (await alice.messages(dm)).filter((e) => TOKEN.test(bodyOf(e))).length >= 3);
    const msgs = (await alice.messages(dm)).filter((e) => TOKEN.test(bodyOf(e)));
    const token = TOKEN.exec(bodyOf(msgs[msgs.length - 1]!))![0];

    const second = await roomWithBot(alice);
    await alice.send(second, `!pursuance join ${token}`);
    await alice.waitFor(second, "bound", (e) => e.sender === bot && bodyOf(e).includes("joined Secrecy"));
    expect(bridge.rooms.get(second)).toBe(hosted);
    expect(hosted.clientFor(alice.userId)!.me).toBe(before);
    expect((await bridge.store.identities(hosted.binding.groupId)).filter((i) => i.matrixUser === alice.userId)).toHaveLength(1);

    await alice.send(second, "!pursuance status");
    await alice.waitFor(second, "status in the second room", (e) => e.sender === bot && bodyOf(e).includes("state hash"));
    await alice.send(main, "!pursuance status");
    await alice.waitFor(main, "status in the main room", (e) => e.sender === bot && bodyOf(e).includes("state hash"));

    await alice.send(second, '!task create "Second room work" --role admin');
    const inSecond = await alice.waitFor(second, "task in the second room", (e) => bodyOf(e).includes("Second room work") && bodyOf(e).startsWith("📋"));
    const inMain = await alice.waitFor(main, "task in the main room", (e) => bodyOf(e).includes("Second room work") && bodyOf(e).startsWith("📋"));
    await alice.sendInThread(second, inSecond.event_id, "comment typed in the second room");
    const mirrored = await alice.waitFor(main, "the comment mirrored in the main room's thread", (e) => bodyOf(e).includes("comment typed in the second room"));
    const rel = mirrored.content["m.relates_to"] as { event_id?: string; rel_type?: string };
    expect(rel.rel_type).toBe("m.thread");
    expect(rel.event_id).toBe(inMain.event_id);
    // Never a relation across rooms: every threaded bot message points at an event of its own room.
    for (const room of [main, second]) {
      const evs: RoomEvent[] = await alice.messages(room);
      const ids = new Set(evs.map((e) => e.event_id));
      for (const e of evs) {
        const r = e.content["m.relates_to"] as { event_id?: string; rel_type?: string } | undefined;
        if (r?.rel_type === "m.thread") expect(ids.has(r.event_id!)).toBe(true);
      }
    }
  });

  it("no key at rest in the clear: every row and column of the bridge's PostgreSQL database", async () => {
    await bridge.idle();
    const hosted = bridge.rooms.get(main)!;
    const hostedClients = [...hosted.clients.values()];
    expect(hostedClients.some((c) => c.ring.all().some((k) => k.scope === "admin"))).toBe(true);
    const secrets = secretsOf([...hostedClients, ...clients], hosted.delegate ? [{ what: "delegate identity", bytes: hosted.delegate.keys.secretKey }] : []);
    expect(secrets.filter((s) => s.what.startsWith("content key")).length).toBeGreaterThan(1);
    expect(bridge.db.kind).toBe("postgres");
    const r = await scanForSecrets(bridge.db.db, secrets);
    expect(r.rows).toBeGreaterThan(50);
    expect(r.found).toEqual([]);
  });

  it("no key at rest in the clear on embedded PGlite either", async () => {
    await bridge.stop();
    bridge = await startBridgeInProcess(h, "memory://", { quiet: !process.env.BRIDGE_LOG });
    const room = await roomWithBot(alice);
    await alice.send(room, '!pursuance create "Embedded"');
    await alice.waitFor(room, "created", (e) => e.sender === bot && bodyOf(e).includes("created Embedded"));
    await alice.send(room, `!pursuance invite ${dan.userId} --role admin`);
    await alice.waitFor(room, "dan admitted", (e) => bodyOf(e).includes(`${dan.userId} joined as admin`));
    await alice.send(room, '!task create "embedded admin work" --role admin');
    await alice.waitFor(room, "task shown", (e) => bodyOf(e).includes("embedded admin work"));
    await alice.send(room, "!pursuance invite --role admin");
    await alice.waitFor(room, "pointer to the DM", (e) => e.sender === bot && bodyOf(e).includes("sent you the invite in a direct message"));
    const hosted = bridge.rooms.get(room)!;
    const danClient = hosted.clientFor(dan.userId)!;
    await until("dan holds the admin key", () => danClient.state.keys.get("admin")?.holders.has(danClient.me) ?? false, []);
    await bridge.idle();
    expect(bridge.db.kind).toBe("pglite");
    const secrets = secretsOf([...hosted.clients.values()], hosted.delegate ? [{ what: "delegate identity", bytes: hosted.delegate.keys.secretKey }] : []);
    expect(secrets.some((x) => x.what.startsWith("admin key"))).toBe(true);
    expect(secrets.some((x) => x.what.startsWith("content key"))).toBe(true);
    const r = await scanForSecrets(bridge.db.db, secrets);
    expect(r.rows).toBeGreaterThan(20);
    expect(r.found).toEqual([]);
  });
});
