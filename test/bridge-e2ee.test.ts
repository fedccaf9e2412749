// End-to-bridge encryption against a real Synapse, with a real E2EE client
// (matrix-js-sdk's Rust crypto) as the user: commands typed in an encrypted
// room are decrypted and handled, every reply and mirrored task is encrypted
// and readable by the user, the homeserver's database never holds a task's
// title, a restarted bridge is the same device with the same sessions, and an
// unreadable message is answered, not swallowed.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { E2eeUser, type SeenEvent } from "../harness/e2ee-user.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";
import { eq } from "drizzle-orm";
import { openDatabase } from "../src/store/db.js";
import { bridgeE2eeDevices } from "../src/store/bridge-schema.js";

const BOT = "@_pursuance_bot:localhost";
const TITLE = "secret title XYZ";
const TITLE_AFTER_RESTART = "second secret ABC";

/** Every way a string could sit in a database file: UTF-8, UTF-16, hex, URL-encoded, base64 at each alignment. */
function forms(s: string): string[] {
  const b = Buffer.from(s, "utf8");
  const out = [s, s.toLowerCase(), encodeURIComponent(s), b.toString("hex"), Buffer.from(s, "utf16le").toString("latin1")];
  for (let pad = 0; pad < 3; pad++) {
    // The middle of the base64 of the string behind `pad` bytes: the same whatever comes before and after.
    const enc = Buffer.concat([Buffer.alloc(pad), b]).toString("base64");
    const start = Math.ceil((pad * 4) / 3) + 1;
    out.push(enc.slice(start, start + Math.floor(((b.length - 2) * 4) / 3)));
    out.push(enc.slice(start, start + Math.floor(((b.length - 2) * 4) / 3)).replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return out.filter((f) => f.length >= 8);
}

/** Synapse's SQLite database with its journal files, as bytes. */
function synapseDatabase(dir: string): Buffer {
  const files = readdirSync(dir).filter((f) => f.startsWith("homeserver.db"));
  expect(files).toContain("homeserver.db");
  return Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
}

const fromBridge = (e: SeenEvent) => e.sender.startsWith("@_pursuance_");

describe("end-to-bridge encryption with matrix-js-sdk against a real Synapse", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice: E2eeUser;
  let room: string;
  const db = () => join(h.dir, "bridge-db");
  const start = () => startBridgeInProcess(h, db(), { encryption: { keyWaitMs: 3_000 } });

  beforeAll(async () => {
    h = await startHarness();
    bridge = await start();
    alice = await E2eeUser.register(h.synapse, "alice");
    room = await alice.createEncryptedRoom([BOT]);
    await alice.waitForJoin(room, BOT);
  }, SYNAPSE_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    alice?.stop();
    await bridge?.stop();
    await h?.close();
  });

  it("decrypts commands typed in an encrypted room, handles them, and encrypts every reply", async () => {
    await alice.send(room, '!pursuance create "Desk"');
    const created = await alice.waitFor(room, "the reply to !pursuance create", (e) => e.sender === BOT && e.body.includes("Desk"));
    expect(created.wireType).toBe("m.room.encrypted");
    expect(bridge.rooms.get(room)?.binding.name).toBe("Desk");

    await alice.send(room, `!task create "${TITLE}"`);
    const task = await alice.waitFor(room, "the task's message", (e) => fromBridge(e) && e.body.includes(TITLE));
    expect(task.wireType).toBe("m.room.encrypted");
    const c = bridge.rooms.get(room)!.clientFor(alice.userId)!;
    expect([...c.state.tasks.values()].map((t) => c.state.taskIds.includes(t.id))).toEqual([true]);

    // A reply in the task's thread: the relation travels outside the ciphertext and is put back, so it is a comment.
    await alice.client.sendTextMessage(room, task.eventId, "a comment typed in the thread");
    const id = c.state.taskIds[0]!;
    for (let i = 0; i < 150 && c.state.tasks.get(id)!.comments.length === 0; i++) await new Promise((r) => setTimeout(r, 200));
    expect(c.state.tasks.get(id)!.comments).toHaveLength(1);

    // Everything the bridge and its ghosts posted (state events aside) travelled encrypted, and the user's client read it.
    const posted = (await alice.events(room)).filter((e) => fromBridge(e) && !e.isState);
    expect(posted.length).toBeGreaterThanOrEqual(2);
    for (const e of posted) {
      expect(e.wireType, `${e.type} ${e.eventId}`).toBe("m.room.encrypted");
      expect(e.failed, `${e.type} ${e.eventId}`).toBe(false);
    }
    expect(bridge.e2ee!.decrypted).toBeGreaterThanOrEqual(2);
  });

  it("a ghost speaks from its own device, encrypted, and the user's client reads it", async () => {
    const ghost = "@_pursuance_e2ee_ghost:localhost";
    await bridge.matrix.ensureGhost(room, ghost, "Ghost of a CLI member");
    await bridge.matrix.send(room, { plain: "ghost reporting in", html: "ghost reporting in" }, ghost);
    const said = await alice.waitFor(room, "the ghost's message", (e) => e.sender === ghost && e.body === "ghost reporting in");
    expect(said.wireType).toBe("m.room.encrypted");
    const ghostDevice = (await bridge.e2ee!.machine(ghost)).deviceId;
    expect(ghostDevice).not.toBe((await bridge.e2ee!.machine(BOT)).deviceId);
    const devices = await alice.client.getCrypto()!.getUserDeviceInfo([ghost], true);
    expect([...(devices.get(ghost)?.keys() ?? [])]).toEqual([ghostDevice]);
  });

  it("answers a message it cannot decrypt, once, and the room's queue goes on", async () => {
    const before = bridge.e2ee!.undecryptable;
    // What happens for real: the user's client keeps its room key from unverified devices (the bridge's
    // are), so the message arrives under a new Megolm session the bridge never gets.
    const crypto = alice.client.getCrypto()!;
    crypto.globalBlacklistUnverifiedDevices = true;
    await crypto.forceDiscardSession(room);
    await alice.send(room, "!task list");
    crypto.globalBlacklistUnverifiedDevices = false;
    await crypto.forceDiscardSession(room);
    const answer = await alice.waitFor(room, "the could-not-decrypt answer", (e) => e.sender === BOT && e.body.includes("I could not decrypt your message"));
    expect(answer.wireType).toBe("m.room.encrypted");
    expect(answer.body).toMatch(/\/discardsession.*send the message again/);
    expect(bridge.e2ee!.undecryptable).toBe(before + 1);
    expect(await bridge.metrics()).toMatch(/pursuance_bridge_e2ee_events_total\{result="undecryptable"\} [1-9]/);

    await alice.send(room, "!task list");
    await alice.waitFor(room, "the reply to !task list", (e) => e.sender === BOT && e.body.includes(TITLE) && e.eventId !== answer.eventId && !e.body.includes("📋"));
    expect((await alice.events(room)).filter((e) => e.body.includes("I could not decrypt your message"))).toHaveLength(1);
  });

  it("a restarted bridge is the same device with the same sessions, from its database", async () => {
    const device = (await bridge.e2ee!.machine(BOT)).deviceId;
    const masterBefore = (await bridge.e2ee!.machine(BOT)).masterKey;
    expect(masterBefore).toBeDefined();
    await bridge.stop();
    bridge = await start();
    expect((await bridge.e2ee!.machine(BOT)).deviceId).toBe(device);
    expect((await bridge.e2ee!.machine(BOT)).masterKey).toBe(masterBefore);

    await alice.send(room, `!task create "${TITLE_AFTER_RESTART}"`);
    const task = await alice.waitFor(room, "the task made after the restart", (e) => fromBridge(e) && e.body.includes(TITLE_AFTER_RESTART));
    expect(task.wireType).toBe("m.room.encrypted");
    // The user's client knows one device of the bot: the restart made no new one.
    const devices = await alice.client.getCrypto()!.getUserDeviceInfo([BOT], true);
    expect([...(devices.get(BOT)?.keys() ?? [])]).toEqual([device]);
  });

  it("the bot's device is cross-signed by the bot (and the restart above kept the same master key)", async () => {
    const crypto = alice.client.getCrypto()!;
    const device = (await bridge.e2ee!.machine(BOT)).deviceId;
    // Fetched afresh from the homeserver: what any client of the user sees.
    await crypto.getUserDeviceInfo([BOT], true);
    const status = await crypto.getDeviceVerificationStatus(BOT, device);
    expect(status?.signedByOwner).toBe(true);
    const identity = await crypto.getUserVerificationStatus(BOT);
    expect(identity.wasCrossSigningVerified()).toBe(false); // alice has not verified the bot: signed by its owner is what we claim
    const master = (await bridge.e2ee!.machine(BOT)).masterKey;
    expect(master).toMatch(/^[A-Za-z0-9+/]{43}$/);
  });

  it("a ciphertext replayed under a new event after a restart is refused as in the same run, and its command not run again", async () => {
    const title = "replayed across a restart";
    const id = await alice.send(room, `!task create "${title}"`);
    await alice.waitFor(room, "the task to be replayed", (e) => fromBridge(e) && e.body.includes(title));
    await bridge.idle();
    const wire = alice.client.getRoom(room)!.findEventById(id)!;
    expect(wire.getWireType()).toBe("m.room.encrypted");
    const tasks = () => bridge.rooms.get(room)!.clientFor(alice.userId)!.state.tasks.size;
    const before = tasks();
    await bridge.stop();
    bridge = await start();
    // Sent as a new event, bypassing alice's crypto: the same bytes the homeserver (or anyone with its database) holds.
    const r = await fetch(`${h.synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.encrypted/replay-${Date.now()}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${alice.client.getAccessToken()}`, "content-type": "application/json" },
      body: JSON.stringify(wire.getWireContent()),
    });
    expect(r.status).toBe(200);
    await alice.send(room, "!task list");
    await alice.waitFor(room, "a reply after the replay", (e) => e.sender === BOT && e.body.includes(title) && !e.body.includes("📋"));
    await bridge.idle();
    expect(bridge.e2ee!.replayed).toBe(1);
    expect(tasks()).toBe(before);
  });

  it("encryption.default: the rooms the bridge makes are encrypted from the start (an invite's direct chat)", async () => {
    await bridge.stop();
    bridge = await startBridgeInProcess(h, db(), { encryption: { keyWaitMs: 3_000, default: true, require: true } });
    await alice.send(room, "!pursuance invite");
    await alice.waitFor(room, "the pointer to the direct chat", (e) => e.sender === BOT && e.body.includes("direct message"));
    const dm = await alice.acceptInviteFrom(BOT);
    expect(await alice.isEncrypted(dm)).toBe(true);
    // Sent before the user joined, to the invited user's devices too: readable once joined.
    const invite = await alice.waitFor(dm, "the invite", (e) => e.sender === BOT && e.body.includes("pursuance:invite/"));
    expect(invite.wireType).toBe("m.room.encrypted");
    expect(invite.failed).toBe(false);
  });

  it("encryption.require: an unencrypted room is told once and nothing else happens there", async () => {
    const plain = (await alice.client.createRoom({ preset: "private_chat" as never, invite: [BOT] })).room_id;
    await alice.waitForJoin(plain, BOT);
    await alice.send(plain, '!pursuance create "In the clear"');
    const notice = await alice.waitFor(plain, "the refusal", (e) => e.sender === BOT && e.body.includes("only in encrypted rooms"));
    expect(notice.wireType).toBe("m.room.message");
    await alice.send(plain, "!help");
    // The encrypted room still works meanwhile, and by then the plain room's second command has been seen.
    await alice.send(room, "!task list");
    await alice.waitFor(room, "a reply in the encrypted room", (e) => e.sender === BOT && e.body.includes(TITLE_AFTER_RESTART) && !e.body.includes("📋"));
    await bridge.idle();
    const fromBot = (await alice.events(plain)).filter((e) => fromBridge(e) && !e.isState);
    expect(fromBot.map((e) => e.body)).toEqual([notice.body]);
    expect(bridge.rooms.has(plain)).toBe(false);
  });

  it("a crypto store that does not open with the identity key stops the bridge with an error naming it", async () => {
    await bridge.stop();
    const wrong = new Uint8Array(32).fill(9);
    const failed = await startBridgeInProcess(h, db(), { quiet: true, identityKey: wrong }).then(
      async (b) => {
        await b.stop();
        return null;
      },
      (e: Error) => e,
    );
    expect(failed?.name).toBe("E2eeStoreError");
    expect(failed?.message).toMatch(/_pursuance_bot:localhost.*does not open with this bridge's identity key.*identities\.key/);
    bridge = await start();
  });

  it("a lost crypto store: the old device is removed, a new one made, and the room goes on", async () => {
    const old = (await bridge.e2ee!.machine(BOT)).deviceId;
    await bridge.stop();
    const d = await openDatabase(db());
    await d.db.delete(bridgeE2eeDevices).where(eq(bridgeE2eeDevices.userId, BOT));
    await d.close();
    bridge = await start();
    const now = (await bridge.e2ee!.machine(BOT)).deviceId;
    expect(now).not.toBe(old);
    // The user's client hears the bot's device list change: only the new device is left to encrypt to.
    for (let i = 0; i < 150; i++) {
      const devices = await alice.client.getCrypto()!.getUserDeviceInfo([BOT], true);
      if ([...(devices.get(BOT)?.keys() ?? [])].join() === now) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect([...((await alice.client.getCrypto()!.getUserDeviceInfo([BOT], true)).get(BOT)?.keys() ?? [])]).toEqual([now]);
    const seen = new Set((await alice.events(room)).map((e) => e.eventId));
    await alice.send(room, "!task list");
    const reply = await alice.waitFor(room, "a reply from the new device", (e) => e.sender === BOT && !seen.has(e.eventId) && e.body.includes(TITLE_AFTER_RESTART));
    expect(reply.wireType).toBe("m.room.encrypted");
  });

  it("Synapse's database holds no task title in any form, while a plain room's text is there", async () => {
    const plain = await alice.client.createRoom({ preset: "private_chat" as never });
    await alice.client.sendTextMessage(plain.room_id, "control marker PLAINTEXT-7Q3");
    await new Promise((r) => setTimeout(r, 500));
    const bytes = synapseDatabase(h.synapse.dir);
    // The scan sees what is there: the control, written in clear, is found.
    expect(bytes.includes(Buffer.from("control marker PLAINTEXT-7Q3"))).toBe(true);
    for (const title of [TITLE, TITLE_AFTER_RESTART]) {
      for (const f of forms(title)) expect(bytes.includes(Buffer.from(f, "latin1")), `${title} as ${JSON.stringify(f)}`).toBe(false);
    }
  });
});
