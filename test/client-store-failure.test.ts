// A member's store that fails for a while (disk full, database restarting):
// delivered events wait, are never dropped, are stored and folded once the
// store answers, and the host hears why — by its error listener, or its log
// when it has none (an EventEmitter would have thrown and stopped the client).
import { afterAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

describe("a client whose store fails for a while (real relay, real clients)", () => {
  let relay: RelayServer | null = null;
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await relay?.close();
  });

  for (const listening of [true, false]) {
    it(`keeps what it was given and folds it once the store answers (${listening ? "an error listener" : "no listener: the log"})`, async () => {
      relay ??= await startRelay({ port: 0 });
      const F = await PursuanceClient.create(await ports(), await identity(), { name: "p", founderName: "founder", relays: [relay.url] });
      clients.push(F);
      const pB = await ports();
      const idB = await identity();
      const heard: string[] = [];
      pB.log = (m) => heard.push(m);
      const B = await PursuanceClient.join(pB, idB, await F.createInvite("admin"), "bea");
      clients.push(B);
      if (listening) B.on("error", (e) => heard.push(`error: ${e.message}`));
      await B.sync({ timeoutMs: 3000, quietMs: 200 });

      const save = pB.store.saveEvents;
      let failing = true;
      pB.store.saveEvents = async (evs) => {
        if (failing) throw new Error("disk full");
        return save(evs);
      };
      await F.publish({ t: "announce", text: "while the disk is full" });
      // sync itself reports the store's failure while it lasts.
      for (let i = 0; i < 100 && !heard.some((m) => /disk full/.test(m)); i++) await B.sync({ timeoutMs: 1000, quietMs: 100 }).catch((e: Error) => expect(e.message).toMatch(/disk full/));
      expect(heard.some((m) => /disk full/.test(m))).toBe(true);
      expect(B.state.announcements.map((a) => a.text)).not.toContain("while the disk is full");
      await expect(B.flushed()).rejects.toThrow(/disk full/);
      if (listening) expect(heard.some((m) => m.startsWith("error: disk full"))).toBe(true);
      else expect(heard.some((m) => /pursuance .*: disk full/.test(m))).toBe(true);

      failing = false;
      await until("the waiting event to be folded", () => B.state.announcements.some((a) => a.text === "while the disk is full"), [B]);
      await B.flushed();
      // The client kept working: a later event still folds.
      await F.publish({ t: "announce", text: "after" });
      await until("a later event", () => B.state.announcements.some((a) => a.text === "after"), [B]);
      // Stored too: a reopened client has both from its store alone.
      B.close();
      const B2 = await PursuanceClient.open({ ...pB, connect: () => { throw new Error("offline"); } }, idB, B.config);
      clients.push(B2);
      expect(B2.state.announcements.map((a) => a.text)).toEqual(expect.arrayContaining(["while the disk is full", "after"]));
    }, 60_000);
  }
});
