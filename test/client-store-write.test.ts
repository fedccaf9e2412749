// A write whose event the member's own store refuses is no write at all: it
// never reaches a relay, the member is told nothing was written, and writing
// again (after a restart, too) makes one task, never a second event at the
// same seq (attacker atk12's wins: a "failed" write that others applied, and
// an honest member turned equivocator by a restart).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { StoreFailedError } from "../src/pursuance/client/outbox.js";
import { clientEnv } from "../src/usecases/env.js";
import { createTask } from "../src/usecases/tasks.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const opts = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };

describe("a store that fails on our own write", () => {
  let relay: RelayServer;
  let ada: PursuanceClient;
  const open: PursuanceClient[] = [];
  beforeAll(async () => {
    relay = await startRelay();
    ada = await PursuanceClient.create(await ports(), await identity(), { name: "Ledger", founderName: "ada", relays: [relay.url], ...opts });
    open.push(ada);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await relay?.close();
  });

  const ownSeqs = (c: PursuanceClient, author: string) => [...c.session.log.events()].filter((e) => toHex(e.author) === author).map((e) => e.seq);

  for (const keepUnsent of [false, true]) {
    it(`is refused whole, and a retry, then a restart and a write, leave one task each and no seq twice (keepUnsent: ${keepUnsent})`, async () => {
      const p = await ports();
      const bob = await PursuanceClient.join(p, await identity(), await ada.createInvite("admin"), "bob", { ...opts, keepUnsent });
      open.push(bob);
      const before = ada.state.taskIds.length;
      const real = p.store.saveEvents.bind(p.store);
      p.store.saveEvents = async () => {
        throw new Error("disk full");
      };
      const err = await createTask(clientEnv(bob), { title: `lost ${keepUnsent}`, role: "admin" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreFailedError);
      expect(String((err as Error).message)).toMatch(/nothing was written: this member's store failed \(disk full\)/);
      expect(bob.config.unsent ?? []).toEqual([]);
      await new Promise((r) => setTimeout(r, 500));
      expect(ada.state.taskIds.length).toBe(before);
      // The store works again: the retry is the one task.
      p.store.saveEvents = real;
      await createTask(clientEnv(bob), { title: `retried ${keepUnsent}`, role: "admin" });
      await until("ada has the retried task", () => ada.state.taskIds.length === before + 1, [ada, bob]);
      // Fails again, then bob restarts from his store and writes before hearing anything back.
      p.store.saveEvents = async () => {
        throw new Error("disk full");
      };
      await createTask(clientEnv(bob), { title: "lost again", role: "admin" }).catch(() => undefined);
      bob.close();
      p.store.saveEvents = real;
      const bob2 = await PursuanceClient.open(p, bob.identity, bob.config, { ...opts, keepUnsent });
      open.push(bob2);
      await bob2.start();
      await createTask(clientEnv(bob2), { title: `after restart ${keepUnsent}`, role: "admin" });
      await until("ada has it", () => ada.state.taskIds.length === before + 2, [ada, bob2]);
      const seqs = ownSeqs(ada, bob2.me);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(ada.state.rejected.filter((r) => /equivocat/.test(JSON.stringify(r)))).toEqual([]);
      // And bob can go on writing.
      await createTask(clientEnv(bob2), { title: `and on ${keepUnsent}`, role: "admin" });
      await until("ada has that too", () => ada.state.taskIds.length === before + 3, [ada, bob2]);
    }, 60_000);
  }
});
