// A member's client under its host's failures (attacker atk8's wins, made
// tests): a key store that fails once during a rotation, a crash while a write
// hangs, a host whose listener and log both throw. None may leave the member
// behind, lose an event after a reopen, or stop the client; and a sync after
// live frames reads on from its cursor, not the whole log again.
import { afterEach, describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { commentBody, taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { memoryStore, type ClientStorePort } from "../src/pursuance/ports.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const OPTS = { fallbackDutyMs: 1_000, repairDelayMs: 50, repairIntervalMs: 300 };
let relay: RelayServer | null = null;
const clients: PursuanceClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = null;
});
const settle = async (cs: PursuanceClient[], rounds = 3) => {
  for (let i = 0; i < rounds; i++) await Promise.all(cs.map((c) => c.sync({ timeoutMs: 3_000, quietMs: 200 }).catch(() => {})));
};
const task = (c: PursuanceClient, title: string) => c.publish(taskCreateBody(c.actor, c.state, { text: { title, deliverables: "" }, readers: ["admin"] }));

describe("a member's client under its host's failures (real relay, real clients)", () => {
  it("a key store that fails once during a rotation: the keys are settled again and the member catches up", async () => {
    relay = await startRelay({ port: 0, powAdaptive: false });
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "p", founderName: "ada", relays: [relay.url], ...OPTS });
    clients.push(ada);
    const pB = await ports();
    let failNext = false;
    const save = pB.store.saveKey;
    pB.store.saveKey = async (scope, key) => {
      if (failNext) {
        failNext = false;
        throw new Error("database is busy");
      }
      return save(scope, key);
    };
    const heard: string[] = [];
    const bob = await PursuanceClient.join(pB, await identity(), await ada.createInvite("admin"), "bob", OPTS);
    bob.on("error", (e) => heard.push(e.message));
    clients.push(bob);
    const cat = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("change agent"), "cat", OPTS);
    clients.push(cat);
    await settle([ada, bob, cat]);
    const epoch = bob.session.currentEpoch;
    failNext = true;
    await ada.publish({ t: "remove", member: cat.me, reason: "gone" });
    await settle([ada, bob]);
    const t = await task(ada, "after the rotation");
    await until("bob reads the task written in the new epoch", () => bob.state.tasks.has(t.id), [ada, bob]);
    expect(bob.session.currentEpoch).not.toBe(epoch);
    await settle([ada, bob], 1);
    expect(bob.hash()).toBe(ada.hash());
    expect(heard.some((m) => /database is busy/.test(m))).toBe(true);
  }, 60_000);

  it("a crash while a write hangs: the saved cursor never passes an event not yet stored", async () => {
    relay = await startRelay({ port: 0, powAdaptive: false });
    const pA = await ports();
    const disk = pA.store;
    let mode: "ok" | "slow" | "hang" = "ok";
    const save = disk.saveEvents;
    const store: ClientStorePort & { events: typeof disk.events } = {
      ...disk,
      saveEvents: async (evs) => {
        if (mode === "slow") {
          mode = "hang";
          await new Promise((r) => setTimeout(r, 800));
          return save(evs);
        }
        if (mode === "hang") return new Promise<void>(() => {}); // the process dies mid-write
        return save(evs);
      },
    };
    const idA = await identity();
    const ada = await PursuanceClient.create({ ...pA, store }, idA, { name: "p", founderName: "ada", relays: [relay.url], ...OPTS });
    clients.push(ada);
    const bob = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("admin"), "bob", OPTS);
    clients.push(bob);
    await settle([ada, bob]);
    mode = "slow";
    const t1 = await task(bob, "one");
    await new Promise((r) => setTimeout(r, 150));
    const t2 = await task(bob, "two");
    await new Promise((r) => setTimeout(r, 1500));
    expect(disk.events.some((e) => e.id === t2.id)).toBe(false); // its write never finished
    ada.close();
    bob.close();
    const ada2 = await PursuanceClient.open({ ...pA, store: disk }, idA, ada.config, OPTS);
    clients.push(ada2);
    await ada2.start();
    // The catch-up on connect reads from the saved cursor: t2 must come back from the relay.
    for (let i = 0; i < 60 && !(ada2.state.tasks.has(t1.id) && ada2.state.tasks.has(t2.id)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(ada2.state.tasks.has(t1.id)).toBe(true);
    expect(ada2.state.tasks.has(t2.id)).toBe(true);
  }, 60_000);

  it("a host whose listener and log both throw, and a store that fails once: the client keeps folding", async () => {
    relay = await startRelay({ port: 0, powAdaptive: false });
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "p", founderName: "ada", relays: [relay.url], ...OPTS });
    clients.push(ada);
    const pB = await ports();
    pB.log = () => {
      throw new Error("log stream closed");
    };
    const bob = await PursuanceClient.join(pB, await identity(), await ada.createInvite("admin"), "bob", OPTS);
    clients.push(bob);
    bob.on("error", () => {
      throw new Error("listener bug");
    });
    bob.on("changed", () => {
      throw new Error("another listener bug");
    });
    await settle([ada, bob]);
    const save = pB.store.saveEvents;
    let failOnce = true;
    pB.store.saveEvents = async (evs) => {
      if (failOnce) {
        failOnce = false;
        throw new Error("disk hiccup");
      }
      return save(evs);
    };
    await task(ada, "during the hiccup");
    const later = await task(ada, "after it");
    await until("bob folds what came after", () => bob.state.tasks.has(later.id), [bob]);
    await settle([ada, bob], 1);
    expect(bob.hash()).toBe(ada.hash());
  }, 60_000);

  it("an async listener that rejects is reported to the log, never an unhandled rejection (atk12)", async () => {
    relay = await startRelay({ port: 0, powAdaptive: false });
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "p", founderName: "ada", relays: [relay.url], ...OPTS });
    clients.push(ada);
    const pB = await ports();
    const logged: string[] = [];
    pB.log = (m) => void logged.push(m);
    const bob = await PursuanceClient.join(pB, await identity(), await ada.createInvite("admin"), "bob", OPTS);
    clients.push(bob);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      bob.on("changed", async () => {
        throw new Error("async listener bug");
      });
      bob.on("progress", () => Promise.reject(new Error("async progress bug")));
      const t = await task(ada, "after the listeners");
      await until("bob folds it", () => bob.state.tasks.has(t.id), [bob]);
      await bob.sync({ timeoutMs: 2_000, quietMs: 100 });
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      expect(logged.join("\n")).toMatch(/async listener bug/);
      expect(logged.join("\n")).toMatch(/async progress bug/);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  }, 60_000);

  it("a sync after live frames reads on from its cursor, not the whole log again", async () => {
    relay = await startRelay({ port: 0, powAdaptive: false });
    const crypto = await loadCrypto();
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "p", founderName: "ada", relays: [relay.url], ...OPTS });
    clients.push(ada);
    const fromZero: number[] = [];
    const pB = await ports();
    pB.connect = (url) => {
      const rc = new RelayClient({ url, crypto, minBackoffMs: 100, maxBackoffMs: 1000 });
      const fetch = rc.fetch.bind(rc);
      rc.fetch = async (tags, since, on) => {
        const r = await fetch(tags, since, on);
        if (since === 0) fromZero.push(r.frames);
        return r;
      };
      return rc;
    };
    const bob = await PursuanceClient.join(pB, await identity(), await ada.createInvite("admin"), "bob", OPTS);
    clients.push(bob);
    await settle([ada, bob]);
    const t = await task(ada, "x");
    for (let i = 0; i < 40; i++) await ada.publish(commentBody(ada.actor, ada.state.tasks.get(t.id)!, `c${i}`));
    await settle([ada, bob], 1);
    fromZero.length = 0;
    for (let i = 0; i < 5; i++) await bob.sync({ timeoutMs: 3000, quietMs: 100 });
    expect(fromZero).toEqual([]);
    expect(bob.hash()).toBe(ada.hash());
  }, 60_000);
});
