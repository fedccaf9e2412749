// Where a pursuance lives is decided in its log (relays.set): every member's
// client follows the list, a role without relays.change is refused with the
// reason, bad lists never decode, and logs from before the capability still
// let their admins move. Over real relays.
import { afterAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { ActionError } from "../src/pursuance/actions.js";
import { BodyError } from "../src/pursuance/events.js";
import { MAX_RELAYS, parseBody } from "../src/pursuance/events-parse.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { defaultRules, type Rules } from "../src/pursuance/rules.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const opts = { fallbackDutyMs: 500, repairDelayMs: 50 };

describe("relays.set", () => {
  const relays: RelayServer[] = [];
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of relays) await r.close();
  });

  it("decodes only a short list of distinct ws:// or wss:// URLs", () => {
    expect(parseBody(enc({ t: "relays.set", relays: ["ws://a:1", "wss://b.example/x", "ws://a:1"] }))).toEqual({ t: "relays.set", relays: ["ws://a:1", "wss://b.example/x"] });
    for (const bad of [[], ["ftp://x"], ["ws://"], ["ws://a b"], ["javascript:alert(1)"], [7], "ws://a:1", Array.from({ length: MAX_RELAYS + 1 }, (_, i) => `ws://r${i}:1`)]) {
      expect(() => parseBody(enc({ t: "relays.set", relays: bad }))).toThrow(BodyError);
    }
  });

  async function pursuance(rules?: Rules): Promise<{ founder: PursuanceClient; member: (role: string, name: string) => Promise<PursuanceClient> }> {
    const r = await startRelay();
    relays.push(r);
    const founder = await PursuanceClient.create(await ports(), await identity(), { name: "Movers", founderName: "ada", relays: [r.url], ...(rules ? { rules } : {}), ...opts });
    clients.push(founder);
    return {
      founder,
      member: async (role, name) => {
        const c = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await founder.createInvite(role))), name, opts);
        clients.push(c);
        return c;
      },
    };
  }

  it("every member follows the log's list; a change agent is refused with the reason", async () => {
    const { founder, member } = await pursuance();
    const bob = await member("admin", "bob");
    const cat = await member("change agent", "cat");
    const all = [founder, bob, cat];
    await until("three members", () => all.every((c) => c.state.members.size === 3), all);
    const r2 = await startRelay();
    relays.push(r2);

    const { copied } = await bob.changeRelays({ add: r2.url });
    await copied;
    await until("everyone on the new relay", () => all.every((c) => c.group.relayUrls.includes(r2.url) && c.config.relays.includes(r2.url)), all);
    expect(all.every((c) => c.state.relays?.join() === [relays[0]!.url, r2.url].join())).toBe(true);

    await expect(cat.changeRelays({ remove: r2.url })).rejects.toThrow(/lacks capability relays\.change/);
    await expect(cat.changeRelays({ add: "ws://127.0.0.1:1" })).rejects.toBeInstanceOf(ActionError);
    expect(cat.relays).toEqual([relays[0]!.url, r2.url]);

    // Off the first relay, for everyone: the pursuance goes on on the second.
    await founder.changeRelays({ remove: relays[0]!.url });
    await until("everyone off the first relay", () => all.every((c) => c.group.relayUrls.join() === r2.url), all);
    await expect(founder.changeRelays({ remove: r2.url })).rejects.toThrow(/cannot remove the last relay/);
    await founder.publish({ t: "announce", text: "still here" });
    await until("the announcement everywhere", () => all.every((c) => c.state.announcements.length === 1), all);
    expect(new Set(all.map((c) => c.hash())).size).toBe(1);
  });

  it("a dead relay in the list holds nobody up", async () => {
    const { founder, member } = await pursuance();
    const bob = await member("admin", "bob");
    await until("two members", () => [founder, bob].every((c) => c.state.members.size === 2), [founder, bob]);
    await founder.changeRelays({ add: "ws://127.0.0.1:1" });
    await until("bob follows", () => bob.relays.includes("ws://127.0.0.1:1"), [founder, bob]);
    await bob.publish({ t: "announce", text: "still moving" });
    await until("the announcement reaches the founder", () => founder.state.announcements.length === 1, [founder, bob]);
  });

  it("rules written before relays.change: members with rules.change may move, others not", async () => {
    const old = defaultRules();
    for (const d of Object.values(old.roles)) d.caps = d.caps.filter((c) => c !== "relays.change");
    const { founder, member } = await pursuance(old);
    const cat = await member("recruiter", "cat");
    await until("two members", () => [founder, cat].every((c) => c.state.members.size === 2), [founder, cat]);
    await expect(cat.changeRelays({ add: "ws://127.0.0.1:2" })).rejects.toThrow(/lacks capability rules\.change/);
    await founder.changeRelays({ add: "ws://127.0.0.1:2" });
    expect(founder.state.relays).toContain("ws://127.0.0.1:2");
  });
});
