// Public announcements against a real Synapse: `!announce` is mirrored to
// world-readable rooms that a guest (no account) reads, and to an Atom feed;
// every copy verifies from its bytes and a copy with one byte changed does not.
// A room added later gets the past ones in order, a restarted bridge posts
// none twice, and a room that cannot be reached holds up no other.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { runVerifyAnnouncement } from "../src/cli/announce-command.js";
import { MATRIX_PROOF_KEY } from "../src/pursuance/announcement-proof.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, TestUser, type RoomEvent } from "../harness/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";

async function verify(text: string, ...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await runVerifyAnnouncement(["-", ...args], { out: (l) => void (out += l + "\n"), err: (l) => void (out += l + "\n") }, () => text);
  return { code, out };
}

/** Change one character of the base64 event in a copied block. */
function oneByteChanged(text: string): string {
  const i = text.indexOf("Event: ") + 40;
  return text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1);
}

const isAnnouncement = (e: RoomEvent) => e.type === "m.room.message" && MATRIX_PROOF_KEY in e.content;

describe("public announcements", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice: TestUser;
  let guest: TestUser;
  let room: string;
  let pid = "";
  const dbDir = mkdtempSync(join(tmpdir(), "pursuance-announce-db-"));
  const bot = "@_pursuance_bot:localhost";

  /** The room behind an alias and its announcements, read as a guest (no account). */
  async function guestRead(alias: string, want: number): Promise<{ roomId: string; events: RoomEvent[] }> {
    const end = Date.now() + 30_000;
    for (;;) {
      const r = await guest.call<{ room_id: string }>("GET", `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`).catch(() => null);
      if (r) {
        // The alias exists a moment before the room's initial state (world-readable) is in.
        const events = (await guest.messages(r.room_id).catch(() => [])).filter(isAnnouncement);
        if (events.length >= want) return { roomId: r.room_id, events };
      }
      if (Date.now() > end) throw new Error(`timed out waiting for ${want} announcements in ${alias}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  beforeAll(async () => {
    h = await startHarness();
    bridge = await startBridgeInProcess(h, dbDir, { quiet: !process.env.BRIDGE_LOG });
    alice = await h.user("alice");
    const g = await fetch(`${h.synapse.baseUrl}/_matrix/client/v3/register?kind=guest`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(g.status).toBe(200);
    const gj = (await g.json()) as { user_id: string; access_token: string };
    guest = new TestUser(h.synapse.baseUrl, gj.user_id, gj.access_token);
    room = await alice.createRoom([bot]);
    await alice.waitFor(room, "the bot to join", (e) => e.type === "m.room.member" && e.content.membership === "join" && (e as { state_key?: string }).state_key === bot);
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await bridge?.stop();
    await h?.close();
  });

  it("an announcement goes to a public room added later, which a guest reads and anyone can check", async () => {
    await alice.send(room, '!pursuance create "Watchdogs"');
    await alice.waitFor(room, "create reply", (e) => e.sender === bot && bodyOf(e).includes("Watchdogs"));
    pid = bridge.rooms.get(room)!.binding.pursuanceId;
    await alice.send(room, '!announce "We moved to a new relay"');
    await alice.waitFor(room, "announce reply", (e) => e.sender === bot && bodyOf(e).startsWith("announced"));

    // An alias the bridge may not make (outside its namespace) is refused at once, saying what to do, and not kept.
    await alice.send(room, "!announce room add #news:localhost");
    const refused = await alice.waitFor(room, "the refusal of #news", (e) => e.sender === bot && bodyOf(e).includes("#news:localhost") && bodyOf(e).includes("namespace"));
    expect(bodyOf(refused)).toMatch(/⛔/);
    expect(bodyOf(refused)).toContain("#_pursuance_news:localhost");
    expect(bodyOf(refused)).not.toMatch(/now go to/);
    await alice.send(room, "!announce room add #_pursuance_news:localhost");
    await alice.waitFor(room, "room add reply", (e) => e.sender === bot && bodyOf(e).includes("#_pursuance_news:localhost too"));
    const { roomId, events } = await guestRead("#_pursuance_news:localhost", 1);
    expect(events).toHaveLength(1);
    const msg = events[0]!;
    expect(msg.sender).toBe(bot);
    expect(bodyOf(msg)).toContain("We moved to a new relay");

    // Both copies in the message verify against the pursuance id; a byte changed does not.
    const fromBody = await verify(bodyOf(msg), "--pursuance", pid);
    expect(fromBody.code, fromBody.out).toBe(0);
    expect(fromBody.out).toMatch(/^VALID announcement: signed by ".*" \([0-9a-f]{12}\), who held ".+", which may announce, as of event [0-9a-f]{12}/m);
    expect(fromBody.out).toMatch(/a later removal cannot be seen from a copy/);
    // The words above the block changed, as a hostile homeserver could: ALTERED, with the difference.
    const altered = await verify(bodyOf(msg).replace("We moved to a new relay", "We moved to relay 51276"), "--pursuance", pid);
    expect(altered.code, altered.out).toBe(1);
    expect(altered.out).toMatch(/^ALTERED: [\s\S]*\+ .*relay 51276/m);
    const fromContent = await verify(JSON.stringify(msg.content), "--pursuance", pid);
    expect(fromContent.code, fromContent.out).toBe(0);
    const bad = await verify(oneByteChanged(bodyOf(msg)), "--pursuance", pid);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/✘ signature/);

    // Public: world-readable, guests may join, listed, and only the bridge may post.
    const state = await guest.call<Array<{ type: string; content: Record<string, unknown> }>>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`);
    const get = (t: string) => state.find((e) => e.type === t)?.content ?? {};
    expect(get("m.room.history_visibility").history_visibility).toBe("world_readable");
    expect(get("m.room.guest_access").guest_access).toBe("can_join");
    const pl = get("m.room.power_levels") as { events_default: number; users_default: number };
    expect(pl.events_default).toBeGreaterThan(pl.users_default);
    const dir = await alice.call<{ chunk: Array<{ room_id: string }> }>("GET", "/_matrix/client/v3/publicRooms");
    expect(dir.chunk.map((r) => r.room_id)).toContain(roomId);
    await alice.join(roomId);
    await expect(alice.send(roomId, "I am not the bridge")).rejects.toThrow(/403/);
  });

  it("serves the announcements as an Atom feed whose entries verify", async () => {
    const r = await fetch(`http://127.0.0.1:${bridge.port}/feeds/${pid}.atom`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/atom/);
    const feed = await r.text();
    expect(feed).toContain("We moved to a new relay");
    expect((await verify(feed, "--pursuance", pid)).code).toBe(0);
    expect((await verify(feed.replace("We moved to a new relay", "We moved to relay 51276"), "--pursuance", pid)).out).toMatch(/^ALTERED: /m);
    expect((await verify(oneByteChanged(feed), "--pursuance", pid)).code).toBe(1);
    expect((await fetch(`http://127.0.0.1:${bridge.port}/feeds/${"0".repeat(64)}.atom`)).status).toBe(404);
  });

  it("after a restart: configured rooms get the past ones in order, none posts twice, and an unreachable room blocks nothing", async () => {
    await bridge.stop();
    bridge = await startBridgeInProcess(h, dbDir, {
      quiet: !process.env.BRIDGE_LOG,
      announce: { rooms: { [pid]: ["#gone:unreachable.invalid", "#_pursuance_wire:localhost"] }, retryBaseMs: 200 },
    });
    await alice.send(room, '!announce "Second: meeting on Friday"');
    await alice.waitFor(room, "second announce reply", (e) => e.sender === bot && bodyOf(e).startsWith("announced") && e.origin_server_ts > 0 && bodyOf(e) !== "");
    const wire = await guestRead("#_pursuance_wire:localhost", 2);
    expect(wire.events.map((e) => bodyOf(e).split("\n")[0])).toEqual(["📣 Watchdogs: We moved to a new relay", "📣 Watchdogs: Second: meeting on Friday"]);
    const news = await guestRead("#_pursuance_news:localhost", 2);
    await bridge.announce.idle();
    await new Promise((res) => setTimeout(res, 1_000));
    const newsAgain = (await guest.messages(news.roomId)).filter(isAnnouncement);
    expect(newsAgain.map((e) => bodyOf(e).split("\n")[0])).toEqual(["📣 Watchdogs: We moved to a new relay", "📣 Watchdogs: Second: meeting on Friday"]);
    for (const e of newsAgain) expect((await verify(bodyOf(e), "--pursuance", pid)).code).toBe(0);

    // The unreachable room keeps failing (and retrying) on its own.
    await alice.send(room, "!announce room list");
    const list = await alice.waitFor(room, "room list", (e) => e.sender === bot && bodyOf(e).includes("#gone:unreachable.invalid"));
    expect(bodyOf(list)).toMatch(/#gone:unreachable\.invalid \(config\): 2 to post, failing/);
    expect(bodyOf(list)).toMatch(/#_pursuance_wire:localhost \(config\): up to date/);
    expect(bodyOf(list)).toMatch(/#_pursuance_news:localhost: up to date/);
    expect(bodyOf(list)).not.toContain("#news:localhost");
    expect(bridge.announce.failures).toBeGreaterThan(1);
  });

  it("a removed room gets no more; a config room cannot be removed from Matrix", async () => {
    await alice.send(room, "!announce room remove #_pursuance_wire:localhost");
    await alice.waitFor(room, "refusal", (e) => e.sender === bot && bodyOf(e).includes("set in the bridge's config"));
    await alice.send(room, "!announce room remove #_pursuance_news:localhost");
    await alice.waitFor(room, "remove reply", (e) => e.sender === bot && bodyOf(e).includes("no longer go to #_pursuance_news:localhost"));
    await alice.send(room, '!announce "Third"');
    await guestRead("#_pursuance_wire:localhost", 3);
    await bridge.announce.idle();
    await new Promise((res) => setTimeout(res, 500));
    const news = await guestRead("#_pursuance_news:localhost", 2);
    expect(news.events).toHaveLength(2);
  });

  it("the public profile goes to the public rooms with its proof, which anyone can check", async () => {
    // Only a role allowed to announce sets it; the flag it needs is named when missing.
    await alice.send(room, '!pursuance profile set "We watch the watchers"');
    await alice.waitFor(room, "usage", (e) => e.sender === bot && bodyOf(e).startsWith("⛔") && bodyOf(e).includes("--join"));
    await alice.send(room, '!pursuance profile set "We watch the watchers" --join "Ask in #_pursuance_wire:localhost" --room #_pursuance_wire:localhost');
    const wire = await guestRead("#_pursuance_wire:localhost", 4);
    const prof = wire.events.find((e) => bodyOf(e).startsWith("📇 Watchdogs, its public profile:"));
    expect(prof, wire.events.map((e) => bodyOf(e).split("\n")[0]).join(" | ")).toBeDefined();
    expect(bodyOf(prof!)).toContain("Mission: We watch the watchers");
    const checked = await verify(bodyOf(prof!), "--pursuance", pid);
    expect(checked.code, checked.out).toBe(0);
    expect(checked.out).toContain("VALID profile");
    expect((await verify(oneByteChanged(bodyOf(prof!)), "--pursuance", pid)).code).toBe(1);
    // The room's topic, and so its room-directory entry, carry the profile.
    await expect
      .poll(async () => (await guest.call<{ topic: string }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(wire.roomId)}/state/m.room.topic/`)).topic, { timeout: 20_000, interval: 250 })
      .toContain("Mission: We watch the watchers");
    await expect
      .poll(async () => (await alice.call<{ chunk: Array<{ room_id: string; topic?: string }> }>("GET", "/_matrix/client/v3/publicRooms")).chunk.find((r) => r.room_id === wire.roomId)?.topic ?? "", { timeout: 20_000, interval: 500 })
      .toContain("To join: Ask in #_pursuance_wire:localhost");
    // In the feed too.
    const feed = await (await fetch(`http://127.0.0.1:${bridge.port}/feeds/${pid}.atom`)).text();
    expect(feed).toContain("We watch the watchers");
    await alice.send(room, "!pursuance profile");
    await alice.waitFor(room, "the profile shown", (e) => e.sender === bot && bodyOf(e).startsWith("Mission: We watch the watchers"));
  });
});
