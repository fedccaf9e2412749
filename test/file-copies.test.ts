// A member who attached or fetched a document keeps its chunk frames (opaque,
// sealed under the file's key) in their own store: when every relay has lost
// them, that member still opens the file and one who never fetched it does
// not; and a member's backup carries the copy (PGlite store, dump and load).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { MemoryRelayStore } from "../src/cwtch/relay-memory-store.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import type { RelayStore } from "../src/cwtch/relay-store.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { ChunkMissingError } from "../src/pursuance/client/file-transfer.js";
import { dumpTables, loadTables } from "../src/store/backup-tables.js";
import { clientStore } from "../src/store/client-store.js";
import { openDatabase } from "../src/store/db.js";
import { clientEnv } from "../src/usecases/env.js";
import { attachFile, fetchFile } from "../src/usecases/files.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const opts = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };

describe("members keep the documents they attached or fetched", () => {
  let relay: RelayServer;
  let lost = false;
  let ada: PursuanceClient, bob: PursuanceClient, cas: PursuanceClient;
  const doc = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) & 0xff);

  beforeAll(async () => {
    const inner = new MemoryRelayStore();
    // Once `lost`, the relay serves no document chunk (a seized or wiped relay, as far as files go).
    const store = new Proxy(inner, {
      get(t, k) {
        if (k === "range") return async (since: number, tags: ReadonlySet<string> | null, limit: number) => (await t.range(since, tags, limit)).filter((f) => !lost || f.blob.length < 30_000);
        const v = Reflect.get(t, k) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    }) as RelayStore;
    relay = await startRelay({ store });
    ada = await PursuanceClient.create(await ports(), await identity(), { name: "Keepers", founderName: "ada", relays: [relay.url], ...opts });
    bob = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("admin"), "bob", opts);
    cas = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("admin"), "cas", opts);
    await ada.publish((s) => taskCreateBody(ada.actor, s, { text: { title: "the ledger", deliverables: "" }, readers: ["admin"] }));
    await until("all hold the task and the admin key", () => [bob, cas].every((c) => c.state.taskIds.length === 1 && c.state.keys.get("admin")!.holders.has(c.me)), [ada, bob, cas]);
  });
  afterAll(async () => {
    for (const c of [ada, bob, cas]) c?.close();
    await relay?.close();
  });

  it("the attacher and a fetcher open it after the relays lost it; a member who never fetched it cannot", async () => {
    await attachFile(clientEnv(ada), { task: "#1", name: "ledger.ods", bytes: doc });
    await until("bob and cas see the file", () => [bob, cas].every((c) => (c.state.tasks.get(c.state.taskIds[0]!)!.files ?? []).length === 1), [ada, bob, cas]);
    expect(Buffer.compare(Buffer.from((await fetchFile(clientEnv(bob), { task: "#1", file: "ledger.ods" })).bytes), Buffer.from(doc))).toBe(0);
    lost = true;
    for (const c of [ada, bob]) {
      const r = await fetchFile(clientEnv(c), { task: "#1", file: "1", timeoutMs: 1_500 });
      expect(Buffer.compare(Buffer.from(r.bytes), Buffer.from(doc))).toBe(0);
    }
    await expect(fetchFile(clientEnv(cas), { task: "#1", file: "1", timeoutMs: 1_500 })).rejects.toThrow(ChunkMissingError);
  });

  it("a copy is checked like any relay's: a copy bent in the store is refused, the relay's taken", async () => {
    lost = false;
    const p = await ports();
    const c2 = await PursuanceClient.join(p, await identity(), await ada.createInvite("admin"), "dee", opts);
    try {
      await until("dee holds the file and the key", () => (c2.state.tasks.get(c2.state.taskIds[0]!)?.files ?? []).length === 1 && c2.state.keys.get("admin")!.holders.has(c2.me), [ada, c2]);
      // Bend every chunk dee's store would give: the fetch refuses them and takes the relay's.
      p.store.loadChunks = async (ts) => new Map(ts.map((t) => [t, new Uint8Array(65_000).fill(1)]));
      const r = await fetchFile(clientEnv(c2), { task: "#1", file: "1" });
      expect(Buffer.compare(Buffer.from(r.bytes), Buffer.from(doc))).toBe(0);
      expect(r.altered["(this member's copy)"]).toBeGreaterThan(0);
    } finally {
      c2.close();
    }
  });
});

describe("the copy is in the member's database and its backup", () => {
  it("saved and loaded by tag (PGlite), dumped with the member's rows and loaded into a fresh database", async () => {
    const crypto = await loadCrypto();
    const a = await openDatabase("memory://");
    const b = await openDatabase("memory://");
    try {
      const owner = "ab".repeat(32);
      const st = clientStore(a.db, crypto, owner, "cd".repeat(32));
      const frames = [0, 1, 2].map((i) => ({ tag: `tag${i}`, blob: new Uint8Array(1000).fill(i + 1) }));
      await st.saveChunks!(frames);
      await st.saveChunks!(frames); // idempotent
      const got = await st.loadChunks!(["tag0", "tag2", "nope"]);
      expect([...got.keys()].sort()).toEqual(["tag0", "tag2"]);
      expect(got.get("tag2")![0]).toBe(3);
      const dump = await dumpTables(a.db, { kind: "member", owner });
      expect((dump.client_chunks ?? []).length).toBe(3);
      await loadTables(b.db, { kind: "member", owner }, dump);
      const back = await clientStore(b.db, crypto, owner, "cd".repeat(32)).loadChunks!(["tag0", "tag1", "tag2"]);
      expect(back.size).toBe(3);
      expect(back.get("tag1")![999]).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
