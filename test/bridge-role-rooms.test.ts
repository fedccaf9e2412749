// rooms.perRole against a real Synapse: a room per role, whose membership
// follows the role as grants and revocations land in the log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, type TestUser } from "../harness/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";

const bot = "@_pursuance_bot:localhost";

describe("a room per role", () => {
  let h: Harness;
  let bridge: Bridge;
  beforeAll(async () => {
    h = await startHarness();
    bridge = await startBridgeInProcess(h, "memory://", { perRoleRooms: true });
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await bridge?.stop();
    await h?.close();
  });

  async function eventually(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it("invites on grant and kicks on revoke", async () => {
    const alice: TestUser = await h.user("rr_alice");
    const bob: TestUser = await h.user("rr_bob");
    const room = await alice.createRoom([bot]);
    await alice.waitFor(room, "bot joined", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === bot && e.content.membership === "join");
    await alice.send(room, '!pursuance create "Role Rooms"');
    await alice.waitFor(room, "created", (e) => e.sender === bot && bodyOf(e).includes("created Role Rooms"));
    await alice.send(room, `!pursuance invite ${bob.userId} --role seedling`);
    await alice.waitFor(room, "bob admitted", (e) => bodyOf(e).includes(`${bob.userId} joined as seedling`));

    const groupId = bridge.rooms.get(room)!.binding.groupId;
    const roomOf = async (role: string) => bridge.store.roleRoom(groupId, role);
    const membersOf = async (role: string) => {
      const r = await roomOf(role);
      return r ? await bridge.matrix.members(r) : [];
    };
    await eventually("alice in the primary room, bob in the seedling room", async () => (await membersOf("primary")).includes(alice.userId) && (await membersOf("seedling")).includes(bob.userId));
    expect(await membersOf("primary")).not.toContain(bob.userId);
    expect(await membersOf("admin")).not.toContain(alice.userId); // she holds primary only: rooms follow held roles

    await alice.send(room, `!role grant ${bob.userId} "change agent"`);
    await eventually("bob invited to the change agent room", async () => (await membersOf("change agent")).includes(bob.userId));
    await alice.send(room, `!role revoke ${bob.userId} seedling`);
    await eventually("bob kicked from the seedling room", async () => !(await membersOf("seedling")).includes(bob.userId));
    expect(await membersOf("change agent")).toContain(bob.userId);
  });
});
