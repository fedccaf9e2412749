// Exercises the real-Synapse harness (scripts/synapse.sh via test/helpers/synapse.ts):
// two users, a room, an invite, a join, and a message read back over the
// client-server API.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYNAPSE_HOOK_TIMEOUT_MS, startSynapse, type SynapseHandle, type SynapseUser } from "../harness/synapse.js";

interface MatrixResponse {
  status: number;
  body: Record<string, unknown>;
}

async function cs(
  hs: SynapseHandle,
  user: SynapseUser,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
): Promise<MatrixResponse> {
  const res = await fetch(`${hs.baseUrl}/_matrix/client/v3${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${user.accessToken}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function ok(
  hs: SynapseHandle,
  user: SynapseUser,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await cs(hs, user, method, path, body);
  if (res.status !== 200) {
    throw new Error(`${method} ${path} as ${user.userId}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

interface RoomEvent {
  type: string;
  sender: string;
  event_id: string;
  content: { msgtype?: string; body?: string };
}

describe("Synapse harness", () => {
  let hs: SynapseHandle | undefined;

  beforeAll(async () => {
    hs = await startSynapse({});
  }, SYNAPSE_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await hs?.stop();
  }, 60_000);

  it("serves the client-server API", async () => {
    const res = await fetch(`${hs!.baseUrl}/_matrix/client/versions`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { versions: string[] };
    expect(body.versions.length).toBeGreaterThan(0);
    expect(hs!.serverName).toBe("localhost");
  });

  it("A creates a room, sends a message, invites B; B joins and reads it", async () => {
    const server = hs!;
    const alice = await server.registerUser("alice", "alice-password", true);
    const bob = await server.registerUser("bob", "bob-password");
    expect(alice.userId).toBe("@alice:localhost");
    expect(bob.userId).toBe("@bob:localhost");

    const whoami = await ok(server, bob, "GET", "/account/whoami");
    expect(whoami.user_id).toBe(bob.userId);

    const created = await ok(server, alice, "POST", "/createRoom", {
      preset: "private_chat",
      name: "harness room",
    });
    const roomId = created.room_id as string;
    // Default room version is 12 here: room ids are "!<hash>" with no ":server" part.
    expect(roomId).toMatch(/^!/);
    const room = encodeURIComponent(roomId);

    const text = `hello from alice ${randomUUID()}`;
    const sent = await ok(server, alice, "PUT", `/rooms/${room}/send/m.room.message/${randomUUID()}`, {
      msgtype: "m.text",
      body: text,
    });
    const eventId = sent.event_id as string;
    expect(eventId).toMatch(/^\$/);

    // Before the invite, B may neither join nor read.
    const earlyRead = await cs(server, bob, "GET", `/rooms/${room}/messages?dir=b&limit=20`);
    expect(earlyRead.status).toBe(403);
    const earlyJoin = await cs(server, bob, "POST", `/rooms/${room}/join`, {});
    expect(earlyJoin.status).toBe(403);

    await ok(server, alice, "POST", `/rooms/${room}/invite`, { user_id: bob.userId });
    const joined = await ok(server, bob, "POST", `/rooms/${room}/join`, {});
    expect(joined.room_id).toBe(roomId);

    const members = await ok(server, bob, "GET", `/rooms/${room}/joined_members`);
    expect(Object.keys(members.joined as Record<string, unknown>).sort()).toEqual(
      [alice.userId, bob.userId].sort(),
    );

    // private_chat => history_visibility "shared": B sees what A sent before the invite.
    const page = await ok(server, bob, "GET", `/rooms/${room}/messages?dir=b&limit=50`);
    const messages = (page.chunk as RoomEvent[]).filter((e) => e.type === "m.room.message");
    expect(messages).toHaveLength(1);
    const msg = messages[0]!;
    expect(msg.event_id).toBe(eventId);
    expect(msg.sender).toBe(alice.userId);
    expect(msg.content.msgtype).toBe("m.text");
    expect(msg.content.body).toBe(text);

    // And the single event, fetched directly.
    const ev = (await ok(server, bob, "GET", `/rooms/${room}/event/${encodeURIComponent(eventId)}`)) as unknown as RoomEvent;
    expect(ev.content.body).toBe(text);
  });
});
