// End to end (real relay, real clients): a seedling bypasses its own client's
// refusal and posts a crafted, signed role.amend of "constructor" through its
// group session (what any modified client can do). Every other client keeps
// folding, shows the event as rejected with its reason, keeps publishing, and
// reopens from its store (docs/protocol.md, "A fold never stops").
import { afterAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { identity, ports } from "./helpers/pursuance-node.js";

const CRAFTED: Body = { t: "role.amend", role: "constructor", def: { rank: 0, caps: [], reads: "role" } };

describe("a crafted event from a seedling (real relay, real clients)", () => {
  let relay: RelayServer | null = null;
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await relay?.close();
  });

  it("is refused with a reason by every client, which keep folding, publishing and reopening", async () => {
    relay = await startRelay({ port: 0 });
    const pF = await ports();
    const idF = await identity();
    const F = await PursuanceClient.create(pF, idF, { name: "p", founderName: "founder", relays: [relay.url] });
    clients.push(F);
    const errors: string[] = [];
    F.on("error", (e) => errors.push(`founder: ${e.message}`));
    const A = await PursuanceClient.join(await ports(), await identity(), await F.createInvite("admin"), "admin");
    clients.push(A);
    A.on("error", (e) => errors.push(`admin: ${e.message}`));
    const S = await PursuanceClient.join(await ports(), await identity(), await F.createInvite("seedling"), "seed");
    clients.push(S);
    await F.sync({ timeoutMs: 3000, quietMs: 200 });
    // The seedling's own client refuses it, so it signs and posts the bytes itself.
    await expect(S.publish(CRAFTED)).rejects.toThrow(/no role named "constructor"|lacks capability/);
    await S.group.publish(encodeBody(CRAFTED));
    for (const c of [F, A]) await c.sync({ timeoutMs: 3000, quietMs: 300 });
    for (const c of [F, A]) {
      const r = c.state.rejected.find((x) => x.author === S.me && x.type === "role.amend");
      expect(r?.reason).toMatch(/lacks capability rules.change/);
    }
    await F.publish({ t: "announce", text: "still alive" });
    await A.sync({ timeoutMs: 3000, quietMs: 300 });
    expect(A.state.announcements.map((a) => a.text)).toContain("still alive");
    F.close();
    const F2 = await PursuanceClient.open(pF, idF, F.config);
    clients.push(F2);
    expect(F2.state.rejected.some((x) => x.author === S.me && x.type === "role.amend")).toBe(true);
    expect(errors).toEqual([]);
  });
});
