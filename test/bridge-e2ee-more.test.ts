// More end-to-bridge encryption against a real Synapse, with real E2EE
// clients (matrix-js-sdk, Rust crypto): a user who joins the encrypted room
// later reads what the bridge posts after the join; bad input (a replayed
// ciphertext, a tampered one, junk to-device from an unknown device) never
// wedges the room's queue, and is counted where it should be.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { E2eeUser, type SeenEvent } from "../harness/e2ee-user.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";

const BOT = "@_pursuance_bot:localhost";
const fromBridge = (e: SeenEvent) => e.sender.startsWith("@_pursuance_");

/** One counter of the bridge's metrics, by its full name with labels. */
async function counter(bridge: Bridge, name: string): Promise<number> {
  const text = await bridge.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no metric ${name} in:\n${text}`);
  return Number(line.slice(name.length + 1));
}
const E2EE = (result: string) => `pursuance_bridge_e2ee_events_total{result="${result}"}`;
const DEVICE_FAILURES = "pursuance_bridge_e2ee_device_failures_total";

describe("end-to-bridge encryption: late joiners and bad input", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice: E2eeUser;
  let bob: E2eeUser | undefined;
  let room: string;

  beforeAll(async () => {
    h = await startHarness();
    bridge = await startBridgeInProcess(h, "memory://", { encryption: { keyWaitMs: 3_000, rotation: { messages: 3, hours: 24 } } });
    alice = await E2eeUser.register(h.synapse, "alice");
    room = await alice.createEncryptedRoom([BOT]);
    await alice.waitForJoin(room, BOT);
    await alice.send(room, '!pursuance create "Later"');
    await alice.waitFor(room, "the reply to !pursuance create", (e) => e.sender === BOT && e.body.includes("Later"));
  }, SYNAPSE_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    bob?.stop();
    alice?.stop();
    await bridge?.stop();
    await h?.close();
  });

  /** A client-server call as alice, with her own access token. */
  async function asAlice(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
    const r = await fetch(`${h.synapse.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${alice.client.getAccessToken()}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    expect(r.status, `${method} ${path}: ${text}`).toBe(200);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** The content of one of alice's events exactly as it travelled (the ciphertext). */
  function wireContent(eventId: string): Record<string, unknown> {
    const ev = alice.client.getRoom(room)!.findEventById(eventId);
    expect(ev, eventId).toBeDefined();
    expect(ev!.getWireType()).toBe("m.room.encrypted");
    return { ...ev!.getWireContent() };
  }

  /** Send `content` as a new m.room.encrypted event from alice, bypassing her client's crypto. */
  async function sendRaw(content: Record<string, unknown>): Promise<string> {
    const txn = `raw-${randomBytes(6).toString("hex")}`;
    const r = await asAlice("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.encrypted/${txn}`, content);
    return r.event_id as string;
  }

  /** A genuine command answered by the bot after everything before it: the room's queue is not wedged. */
  async function stillAnswers(title: string): Promise<void> {
    await alice.send(room, `!task create "${title}"`);
    const task = await alice.waitFor(room, `the task ${title}`, (e) => fromBridge(e) && e.body.includes(title));
    expect(task.wireType).toBe("m.room.encrypted");
    expect(task.failed).toBe(false);
  }

  /** How many tasks the pursuance holds (titles are sealed: counted, not read). */
  async function joinAs(u: E2eeUser, roomId: string): Promise<void> {
    await u.client.joinRoom(roomId);
    await u.waitForJoin(roomId, u.userId);
  }
  const taskCount = () => bridge.rooms.get(room)!.clientFor(alice.userId)!.state.tasks.size;
  let shared = "";

  it("a second user who joins an encrypted room later reads what the bridge posts after the join", async () => {
    // A room of its own: with bob (not a member of the pursuance) in it, the room may not show tasks,
    // and the bad-input tests below want the bridge to post tasks in theirs.
    shared = await alice.createEncryptedRoom([BOT]);
    await alice.waitForJoin(shared, BOT);
    await alice.send(shared, '!pursuance create "Shared"');
    await alice.waitFor(shared, "the reply to !pursuance create", (e) => e.sender === BOT && e.body.includes("Shared"));

    bob = await E2eeUser.register(h.synapse, "bob");
    await alice.client.invite(shared, bob.userId);
    await bob.acceptInviteFrom(alice.userId);
    await alice.waitForJoin(shared, bob.userId);
    const b = bob;
    const afterJoin = async () => {
      const all = await b.events(shared);
      const joinAt = all.findIndex((e) => e.isState && e.type === "m.room.member" && e.sender === b.userId);
      return all.slice(joinAt + 1).filter((e) => fromBridge(e) && !e.isState);
    };

    await alice.send(shared, '!task create "made after bob joined"');
    await alice.send(shared, "!help");
    // The reply to !help comes after whatever the bridge said to the !task create: by then bob has it all.
    const help = await b.waitFor(shared, "the reply to !help, read by bob", (e) => e.sender === BOT && e.body.includes("!task"));
    expect(help.wireType).toBe("m.room.encrypted");
    expect(help.failed).toBe(false);
    await bridge.idle();
    const posted = await afterJoin();
    // The reply to !task create and the reply to !help at least.
    expect(posted.length, JSON.stringify(posted)).toBeGreaterThanOrEqual(2);
    for (const e of posted) {
      expect(e.wireType, `${e.type} ${e.eventId}`).toBe("m.room.encrypted");
      expect(e.failed, `${e.type} ${e.eventId}: ${e.body}`).toBe(false);
    }
    expect(posted.some((e) => e.eventId !== help.eventId && e.body !== "")).toBe(true);

    // Bob writes in the encrypted room too: his client's room key reaches the bridge, which decrypts him.
    const decrypted = await counter(bridge, E2EE("decrypted"));
    await b.send(shared, "hello from bob");
    for (let i = 0; i < 150 && (await counter(bridge, E2EE("decrypted"))) === decrypted; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await counter(bridge, E2EE("decrypted"))).toBe(decrypted + 1);
  });

  it("alice's ciphertext re-sent by bob under his own name is refused as another device's session, before it could take alice's turn", async () => {
    const b = bob!;
    const id = await alice.send(shared, "!help");
    await alice.waitFor(shared, "the reply to alice's !help", (e) => e.sender === BOT && e.body.includes("!task"));
    await bridge.idle();
    const wire = { ...alice.client.getRoom(shared)!.findEventById(id)!.getWireContent() };
    const replayed = await counter(bridge, E2EE("replayed"));
    const foreign = await counter(bridge, E2EE("foreign-session"));
    const r = await fetch(`${h.synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(shared)}/send/m.room.encrypted/bob-${randomBytes(4).toString("hex")}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${b.client.getAccessToken()}`, "content-type": "application/json" },
      body: JSON.stringify(wire),
    });
    expect(r.status).toBe(200);
    const told = await b.waitFor(shared, "the refusal", (e) => e.sender === BOT && e.body.includes("not one of your devices"));
    expect(told.body).toContain(b.userId);
    // Refused for whose session it is, not as a replay: it would be refused so even if it had arrived first.
    expect(await counter(bridge, E2EE("foreign-session"))).toBe(foreign + 1);
    expect(await counter(bridge, E2EE("replayed"))).toBe(replayed);
  });

  it("an invite is never sent into a direct chat someone else was brought into: a new direct chat is made", async () => {
    const b = bob!;
    await alice.send(room, "!pursuance invite");
    const pointer = await alice.waitFor(room, "the pointer to the direct chat", (e) => e.sender === BOT && e.body.includes("direct message"));
    // The bridge's record of alice's direct chat (she may have other invites from the bot: role rooms).
    const dm = (await bridge.store.directRoom(alice.userId))!;
    await joinAs(alice, dm);
    const first = await alice.waitFor(dm, "the first invite", (e) => e.sender === BOT && e.body.includes("pursuance:invite/"));
    // bob (no member of this pursuance) is brought into alice's direct chat with the bot.
    await alice.client.invite(dm, b.userId);
    await b.acceptInviteFrom(alice.userId);
    await alice.waitForJoin(dm, b.userId);
    await alice.send(room, "!pursuance invite");
    await alice.waitFor(room, "the second pointer to a direct chat", (e) => e.sender === BOT && e.body.includes("direct message") && e.eventId !== pointer.eventId);
    const fresh = (await bridge.store.directRoom(alice.userId))!;
    expect(fresh).not.toBe(dm);
    await joinAs(alice, fresh);
    const second = await alice.waitFor(fresh, "the second invite, in a new direct chat", (e) => e.sender === BOT && e.body.includes("pursuance:invite/"));
    expect(second.body).not.toBe(first.body);
    await bridge.idle();
    expect((await alice.events(dm)).filter((e) => e.sender === BOT && e.body.includes("pursuance:invite/"))).toHaveLength(1);
  });

  it("messages whose keys never come wait outside the room's queue: a genuine command sent after them is answered before they are given up on", async () => {
    const original = wireContent(await alice.send(room, "!help"));
    await alice.waitFor(room, "the reply to !help", (e) => e.sender === BOT && e.body.includes("!task"));
    // Three ciphertexts in sessions nobody shared (the key "may still come"), then a genuine command.
    const junk: string[] = [];
    for (let i = 0; i < 3; i++) junk.push(await sendRaw({ ...original, session_id: randomBytes(32).toString("base64").replace(/=+$/, "") }));
    const title = "not held up by junk";
    await alice.send(room, `!task create "${title}"`);
    const task = await alice.waitFor(room, "the genuine command's task", (e) => fromBridge(e) && e.body.includes(title));
    const told = await alice.waitFor(room, "the junk given up on", (e) => e.sender === BOT && e.body.includes("I could not decrypt your message") && e.eventId !== task.eventId);
    const order = (await alice.events(room)).map((e) => e.eventId);
    // keyWaitMs is 3 s here: junk waiting inside the queue would have put the task after three such notices.
    expect(order.indexOf(task.eventId)).toBeLessThan(order.indexOf(told.eventId));
    expect(junk).toHaveLength(3);
  });

  it("a command in clear in the encrypted room (as a homeserver could forge it) is not acted on, and the sender is told", async () => {
    await bridge.idle();
    const tasks = taskCount();
    await asAlice("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/plain-${randomBytes(4).toString("hex")}`, { msgtype: "m.text", body: '!task create "forged in clear"' });
    const told = await alice.waitFor(room, "the refusal", (e) => e.sender === BOT && e.body.includes("came unencrypted"));
    expect(told.wireType).toBe("m.room.encrypted");
    await stillAnswers("after the plain one");
    await bridge.idle();
    expect(taskCount()).toBe(tasks + 1);
    expect(await counter(bridge, E2EE("plain-in-encrypted"))).toBe(1);
  });

  it("a replayed ciphertext (same bytes, a new event) is not acted on twice, and the queue goes on", async () => {
    const title = "replay me once";
    const id = await alice.send(room, `!task create "${title}"`);
    await alice.waitFor(room, "the task to be replayed", (e) => fromBridge(e) && e.body.includes(title));
    await bridge.idle();
    const tasks = taskCount();
    const decrypted = await counter(bridge, E2EE("decrypted"));
    const undecryptable = await counter(bridge, E2EE("undecryptable"));
    const replayed = await counter(bridge, E2EE("replayed"));

    const original = wireContent(id);
    await sendRaw(original);
    // The same bytes spelled otherwise (padded base64) are the same message, refused too.
    const padded = Buffer.from(String(original.ciphertext), "base64").toString("base64");
    expect(padded).not.toBe(original.ciphertext);
    await sendRaw({ ...original, ciphertext: padded });
    await stillAnswers("after the replay");
    await bridge.idle();
    // One more task (the genuine command's), not two: the replayed command was not run again.
    expect(taskCount()).toBe(tasks + 1);
    // The genuine command was decrypted; the replay was refused and counted as such, not answered as unreadable.
    expect(await counter(bridge, E2EE("decrypted"))).toBe(decrypted + 1);
    expect(await counter(bridge, E2EE("replayed"))).toBe(replayed + 2);
    expect(await counter(bridge, E2EE("undecryptable"))).toBe(undecryptable);
    expect(await counter(bridge, "pursuance_bridge_rooms_stuck")).toBe(0);
  });

  it("a tampered ciphertext is told as unreadable, once, and the queue goes on", async () => {
    const id = await alice.send(room, "!task list");
    await alice.waitFor(room, "the reply to !task list", (e) => e.sender === BOT && e.body.includes("replay me once") && !e.body.includes("📋"));
    await bridge.idle();
    const decrypted = await counter(bridge, E2EE("decrypted"));
    const undecryptable = await counter(bridge, E2EE("undecryptable"));
    const unreadable = (e: SeenEvent) => e.sender === BOT && e.body.includes("I could not decrypt your message") && e.body.includes(alice.userId);
    const before = new Set((await alice.events(room)).filter(unreadable).map((e) => e.eventId));

    const content = wireContent(id);
    const ct = Buffer.from(String(content.ciphertext), "base64");
    ct[Math.floor(ct.length / 2)]! ^= 0x5a;
    const tampered = await sendRaw({ ...content, ciphertext: ct.toString("base64").replace(/=+$/, "") });
    const answer = await alice.waitFor(room, "the could-not-decrypt answer", (e) => unreadable(e) && !before.has(e.eventId));
    expect(answer.wireType).toBe("m.room.encrypted");

    await stillAnswers("after the tampering");
    await bridge.idle();
    expect(await counter(bridge, E2EE("undecryptable"))).toBe(undecryptable + 1);
    expect(await counter(bridge, E2EE("decrypted"))).toBe(decrypted + 1);
    expect((await alice.events(room)).filter((e) => unreadable(e) && !before.has(e.eventId))).toHaveLength(1);
    expect(tampered).not.toBe(id);
    expect(await counter(bridge, "pursuance_bridge_rooms_stuck")).toBe(0);
  });

  it("junk to-device from an unknown device changes nothing, and the next command works", async () => {
    const bot = await bridge.e2ee!.machine(BOT);
    const device = bot.deviceId;
    const ed25519 = bot.ed25519;
    const failures = await counter(bridge, DEVICE_FAILURES);
    const undecryptable = await counter(bridge, E2EE("undecryptable"));
    const junk = [
      { algorithm: "m.olm.v1.curve25519-aes-sha2", sender_key: "not a key", ciphertext: { nobody: { type: 0, body: "AAAA" } } },
      { algorithm: "m.olm.v1.curve25519-aes-sha2", sender_key: Buffer.alloc(32, 7).toString("base64").replace(/=+$/, ""), ciphertext: { [ed25519]: { type: 0, body: "junk!!" } } },
      { algorithm: "m.megolm.v1.aes-sha2", ciphertext: 42 },
      { nonsense: true },
    ];
    for (const content of junk) {
      await asAlice("PUT", `/_matrix/client/v3/sendToDevice/m.room.encrypted/junk-${randomBytes(6).toString("hex")}`, { messages: { [BOT]: { [device]: content } } });
    }
    await stillAnswers("after the junk");
    await bridge.idle();
    expect((await bridge.e2ee!.machine(BOT)).deviceId).toBe(device);
    expect((await bridge.e2ee!.machine(BOT)).ed25519).toBe(ed25519);
    expect(await counter(bridge, DEVICE_FAILURES)).toBe(failures);
    expect(await counter(bridge, E2EE("undecryptable"))).toBe(undecryptable);
    expect(await counter(bridge, "pursuance_bridge_rooms_stuck")).toBe(0);
  });

  it("the bot's outbound Megolm session ends after encryption.rotation.messages (3 here): no session carries more", async () => {
    for (let i = 0; i < 4; i++) {
      await alice.send(room, "!help");
      await alice.waitFor(room, `help reply ${i}`, (e) => e.sender === BOT && /!task/.test(e.body) && (seenHelp.add(e.eventId), seenHelp.size > i));
    }
    const perSession = new Map<string, number>();
    for (const e of await alice.events(room)) {
      if (e.sender !== BOT || e.isState || e.wireType !== "m.room.encrypted") continue;
      const sid = String(alice.client.getRoom(room)!.findEventById(e.eventId)!.getWireContent().session_id);
      perSession.set(sid, (perSession.get(sid) ?? 0) + 1);
    }
    expect(perSession.size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...perSession.values())).toBeLessThanOrEqual(3);
  });
  const seenHelp = new Set<string>();

  it("a room switched to an algorithm the bridge cannot speak is told so once, in clear, and nothing else is posted there", async () => {
    const odd = await alice.createEncryptedRoom([BOT]);
    await alice.waitForJoin(odd, BOT);
    await alice.send(odd, '!pursuance create "Odd"');
    // The reply itself (it names !task create), not the mirror's "founded" notice, which can come first.
    await alice.waitFor(odd, "the reply to !pursuance create", (e) => e.sender === BOT && e.body.startsWith("created Odd"));
    await asAlice("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(odd)}/state/m.room.encryption/`, { algorithm: "org.example.bogus.v9" });
    await alice.until("the bridge to see the new algorithm", async () => (await bridge.e2ee!.unsupportedAlgorithm(odd)) !== null);
    const before = new Set((await alice.events(odd)).map((e) => e.eventId));
    await alice.send(odd, '!task create "must not show"');
    await alice.send(odd, "!help");
    const told = await alice.waitFor(odd, "the notice", (e) => e.sender === BOT && e.body.includes("org.example.bogus.v9"));
    expect(told.wireType).toBe("m.room.message");
    await alice.send(odd, "!help");
    await bridge.idle();
    // Whatever else the bridge had queued before the switch (a power-level notice, say) may land around it;
    // what matters is that nothing it was asked after the switch is posted, and the notice is said once.
    const fromBot = (await alice.events(odd)).filter((e) => !before.has(e.eventId) && fromBridge(e) && !e.isState);
    expect(fromBot.filter((e) => e.body.includes("org.example.bogus.v9"))).toHaveLength(1);
    expect(fromBot.filter((e) => e.body.includes("must not show") || e.body.includes("!task create"))).toEqual([]);
  });
});
