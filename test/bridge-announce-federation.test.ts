// Announcements across two real Synapse homeservers federating over loopback
// (TLS with self-signed certificates, see scripts/synapse.sh --federation-port):
// the bridge on A mirrors to a public room hosted on B (found and joined over
// federation) and to one it makes on A; a guest of B reads the first, a user of
// B joins the second over federation, and every copy verifies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { runVerifyAnnouncement } from "../src/cli/announce-command.js";
import { MATRIX_PROOF_KEY } from "../src/pursuance/announcement-proof.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, TestUser, type RoomEvent } from "../harness/matrix.js";
import { freePort, startSynapse, SYNAPSE_HOOK_TIMEOUT_MS, type SynapseHandle } from "../harness/synapse.js";

async function verify(text: string, pid: string): Promise<number> {
  return runVerifyAnnouncement(["-", "--pursuance", pid], { out: () => {}, err: () => {} }, () => text);
}

const isAnnouncement = (e: RoomEvent) => e.type === "m.room.message" && MATRIX_PROOF_KEY in e.content;

async function announcements(u: TestUser, roomId: string, want: number): Promise<RoomEvent[]> {
  const end = Date.now() + 60_000;
  for (;;) {
    const got = (await u.messages(roomId).catch(() => [])).filter(isAnnouncement);
    if (got.length >= want) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${want} announcements in ${roomId}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe("public announcements over federation", () => {
  let h: Harness;
  let b: SynapseHandle;
  let bridge: Bridge;

  beforeAll(async () => {
    h = await startHarness({ federate: true });
    const fb = await freePort();
    b = await startSynapse({ serverName: `localhost:${fb}`, federationPort: fb });
    bridge = await startBridgeInProcess(h, "memory://", { quiet: !process.env.BRIDGE_LOG });
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await bridge?.stop();
    await b?.stop();
    await h?.close();
  });

  it("mirrors to a public room on another homeserver and to one on its own, read from the other", async () => {
    const A = h.synapse.serverName;
    const B = b.serverName;
    const bot = `@_pursuance_bot:${A}`;
    const alice = await h.user("alice");
    const bu = await b.registerUser("bert", "pw-bert-123");
    const bert = new TestUser(b.baseUrl, bu.userId, bu.accessToken);

    // A public room on B, made by bert, where only he and the bridge's bot may post.
    const town = await bert.createRoom([], {
      preset: "public_chat",
      room_alias_name: "town",
      initial_state: [
        { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "world_readable" } },
        { type: "m.room.guest_access", state_key: "", content: { guest_access: "can_join" } },
      ],
      power_level_content_override: { events_default: 100, users: { [bot]: 100 } },
    });

    const room = await alice.createRoom([bot]);
    await alice.waitFor(room, "the bot to join", (e) => e.type === "m.room.member" && e.content.membership === "join" && (e as { state_key?: string }).state_key === bot);
    await alice.send(room, '!pursuance create "Watchdogs"');
    await alice.waitFor(room, "create reply", (e) => e.sender === bot && bodyOf(e).includes("Watchdogs"));
    const pid = bridge.rooms.get(room)!.binding.pursuanceId;
    await alice.send(room, '!announce "Posted before either room existed"');
    await alice.waitFor(room, "announce reply", (e) => e.sender === bot && bodyOf(e).startsWith("announced"));

    await alice.send(room, `!announce room add #town:${B}`);
    await alice.send(room, `!announce room add #_pursuance_news:${A}`);
    await alice.send(room, '!announce "Second"');

    // B's guest reads B's room, which the bridge reached over federation.
    const g = (await (await fetch(`${b.baseUrl}/_matrix/client/v3/register?kind=guest`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).json()) as { user_id: string; access_token: string };
    const guest = new TestUser(b.baseUrl, g.user_id, g.access_token);
    const onB = await announcements(guest, town, 2);
    expect(onB.map((e) => bodyOf(e).split("\n")[0])).toEqual(["📣 Watchdogs: Posted before either room existed", "📣 Watchdogs: Second"]);
    for (const e of onB) expect(await verify(bodyOf(e), pid)).toBe(0);

    // A user of B joins A's room over federation and reads it there.
    await bert.call("POST", `/_matrix/client/v3/join/${encodeURIComponent(`#_pursuance_news:${A}`)}`, {});
    const news = (await bert.call<{ room_id: string }>("GET", `/_matrix/client/v3/directory/room/${encodeURIComponent(`#_pursuance_news:${A}`)}`)).room_id;
    const onA = await announcements(bert, news, 2);
    expect(onA.map((e) => bodyOf(e).split("\n")[0])).toEqual(["📣 Watchdogs: Posted before either room existed", "📣 Watchdogs: Second"]);
    for (const e of onA) expect(await verify(JSON.stringify(e.content), pid)).toBe(0);
  }, 180_000);
});
