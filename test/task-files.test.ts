// Issue 23, documents of a task: a 5 MiB file goes from one member to another
// over two real relays, one of which alters a chunk (caught by its hash, taken
// from the other relay); a member outside the task's reader role sees neither
// the name nor the bytes; a file over the rules' limit is refused with nothing
// stored; a chunk no relay gives fails naming the file and the chunk; a move
// to a new relay keeps the file fetchable after the old relays are gone.
// Real relays (their stores wrapped to alter or withhold frames), real
// WebSockets, real libsodium.
import { createServer, type AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { BotContext } from "../src/bot/context.js";
import { handleCommand } from "../src/bot/dispatch.js";
import { fromB64, toB64, utf8 } from "../src/cwtch/bytes.js";
import { MemoryRelayStore } from "../src/cwtch/relay-memory-store.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import type { RelayStore } from "../src/cwtch/relay-store.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { ChunkMissingError, fetchChunks, REPAIR_MAX_CHUNKS } from "../src/pursuance/client/file-transfer.js";
import { moveRelays } from "../src/pursuance/client/relocate.js";
import { chunkTag, openChunk } from "../src/pursuance/files.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { openContentKey } from "../src/pursuance/task-crypto.js";
import { clientEnv } from "../src/usecases/env.js";
import { attachFile, checkFileSize, fetchFile, FileTooLargeError, listFiles } from "../src/usecases/files.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";
import { seededBytes as randomBytes, framesOn } from "./helpers/bytes.js";

const opts = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };
const MiB = 1024 * 1024;

/** A real relay whose store alters the frames of `alter` and withholds those of `withhold` on every fetch. */
interface BentRelay {
  server: RelayServer;
  alter: Set<string>;
  withhold: Set<string>;
  altered: number;
}

async function bentRelay(o: { appendDelayMs?: number; postsPerSecond?: number } = {}): Promise<BentRelay> {
  const inner = new MemoryRelayStore();
  const b = { alter: new Set<string>(), withhold: new Set<string>(), altered: 0 } as BentRelay;
  const store = new Proxy(inner, {
    get(t, k) {
      if (k === "range") {
        return async (since: number, tags: ReadonlySet<string> | null, limit: number) => {
          const page = await t.range(since, tags, limit);
          return page
            .filter((f) => !b.withhold.has(f.tag))
            .map((f) => {
              if (!b.alter.has(f.tag)) return f;
              b.altered++;
              const blob = f.blob.slice();
              blob[100] = blob[100]! ^ 0xff;
              return { ...f, blob };
            });
        };
      }
      // A slow store: no answer at once, each append some milliseconds late.
      if (o.appendDelayMs !== undefined && (k === "appendNow" || k === "evictNow")) return undefined;
      if (o.appendDelayMs !== undefined && k === "append") {
        return async (...a: Parameters<MemoryRelayStore["append"]>) => {
          await new Promise((r) => setTimeout(r, o.appendDelayMs));
          return t.append(...a);
        };
      }
      const v = Reflect.get(t, k) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as RelayStore;
  b.server = await startRelay({ store, ...(o.postsPerSecond ? { postsPerSecond: o.postsPerSecond, postBurst: o.postsPerSecond } : {}) });
  return b;
}

describe("documents of a task", () => {
  const clients: PursuanceClient[] = [];
  const relays: BentRelay[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of relays) await r.server.close().catch(() => undefined);
  });

  let r1: BentRelay, r2: BentRelay;
  let ada: PursuanceClient, bob: PursuanceClient;
  let all: PursuanceClient[];

  async function setup(): Promise<void> {
    if (ada) return;
    r1 = await bentRelay();
    r2 = await bentRelay();
    relays.push(r1, r2);
    ada = await PursuanceClient.create(await ports(), await identity(), { name: "Records", founderName: "ada", relays: [r1.server.url, r2.server.url], ...opts });
    clients.push(ada);
    bob = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await ada.createInvite("change agent"))), "bob", opts);
    clients.push(bob);
    all = [ada, bob];
    await until("two members", () => all.every((c) => c.state.members.size === 2), all);
    await ada.publish((s) => taskCreateBody(ada.actor, s, { text: { title: "FOIA: police budget", deliverables: "" }, readers: ["change agent"] }));
    await ada.publish((s) => taskCreateBody(ada.actor, s, { text: { title: "legal strategy", deliverables: "" }, readers: ["admin"] }));
    await until("both tasks", () => all.every((c) => c.state.tasks.size === 2), all);
  }

  it("a 5 MiB file goes from ada to bob over two relays; the chunk one relay alters is refused by its hash and taken from the other", async () => {
    await setup();
    const bytes = randomBytes(5 * MiB, 23);
    const seen: number[] = [];
    const r = await attachFile(clientEnv(ada), { task: "#1", name: "budget-2026.pdf", bytes, onProgress: (p) => seen.push(p.done) });
    expect(r.file).toMatchObject({ n: 1, name: "budget-2026.pdf", size: 5 * MiB, chunks: 81 });
    expect(seen.at(-1)).toBe(81);
    await until("bob sees the file", () => (bob.state.tasks.get(r.task.id)!.files ?? []).length === 1, all);
    expect(listFiles(clientEnv(bob), { task: "#1" }).files).toMatchObject([{ n: 1, name: "budget-2026.pdf", size: 5 * MiB, chunks: 81, author: "ada" }]);

    // r1 (asked first) alters chunk 4 of the file from now on.
    const f = bob.state.tasks.get(r.task.id)!.files![0]!;
    r1.alter.add(chunkTag(bob.crypto, fromB64(f.tagKey), 3));
    const got = await fetchFile(clientEnv(bob), { task: "#1", file: "budget-2026.pdf", timeoutMs: 10_000 });
    expect(r1.altered).toBeGreaterThan(0);
    expect(got.altered).toEqual({ [r1.server.url]: 1 });
    expect(got.repaired).toEqual({ [r1.server.url]: 1 });
    expect(got.name).toBe("budget-2026.pdf");
    expect(got.bytes.length).toBe(bytes.length);
    expect(Buffer.compare(Buffer.from(got.bytes), Buffer.from(bytes))).toBe(0);
    r1.alter.clear();

    // A relay that lacks the chunks (restarted empty, say) gets them back from the member who fetched them elsewhere.
    const r0 = await bentRelay();
    relays.push(r0);
    expect(await framesOn(r0.server.url)).toBe(0);
    // In the background, and at most REPAIR_MAX_CHUNKS (64) per relay per fetch: the next fetch sends the rest.
    const raw = await fetchChunks(bob, f, "budget-2026.pdf", { relays: [r0.server.url, r2.server.url], timeoutMs: 10_000 });
    expect(raw.repaired).toEqual({ [r0.server.url]: REPAIR_MAX_CHUNKS });
    expect(await raw.repairs).toEqual({ [r0.server.url]: REPAIR_MAX_CHUNKS });
    expect(await framesOn(r0.server.url)).toBe(REPAIR_MAX_CHUNKS);
    const rest = await fetchChunks(bob, f, "budget-2026.pdf", { relays: [r0.server.url, r2.server.url], timeoutMs: 10_000 });
    expect(await rest.repairs).toEqual({ [r0.server.url]: 81 - REPAIR_MAX_CHUNKS });
    expect(await framesOn(r0.server.url)).toBe(81);
    expect((await fetchChunks(bob, f, "budget-2026.pdf", { relays: [r0.server.url], timeoutMs: 5_000 })).repaired).toEqual({});
  }, 90_000);

  it("a member without the task's reader role sees that a file exists and its size, never its name or bytes", async () => {
    await setup();
    const secret = utf8.encode("the plan: " + "x".repeat(1000));
    const r = await attachFile(clientEnv(ada), { task: "#2", name: "secret-plan.txt", bytes: secret });
    await until("bob sees the file", () => (bob.state.tasks.get(r.task.id)!.files ?? []).length === 1, all);
    const f = bob.state.tasks.get(r.task.id)!.files![0]!;
    expect(listFiles(clientEnv(bob), { task: "#2" }).files).toMatchObject([{ n: 1, name: null, size: secret.length }]);
    expect(openContentKey(bob.crypto, bob.ring, bob.identity, bob.me, bob.state.tasks.get(r.task.id)!)).toBeNull();
    await expect(fetchFile(clientEnv(bob), { task: "#2", file: "1" })).rejects.toThrow(/cannot read the files of task #2: your keys do not open it \(readers: admin\)/);
    // The chunks themselves are on the relays (anyone may copy them), and no key of bob's opens them.
    const raw = await fetchChunks(bob, f, "1", { timeoutMs: 5_000 });
    for (const k of bob.ring.all()) expect(openChunk(bob.crypto, k.key, 0, f.chunks, raw.blobs[0]!)).toBeNull();
    expect(openChunk(bob.crypto, bob.crypto.randomBytes(32), 0, f.chunks, raw.blobs[0]!)).toBeNull();
    // Nothing bob holds names the file: not his log's event bodies, not the state he folded.
    const held = bob.session.log.events().map((e) => Buffer.from(e.bytes).toString("utf8")).join("\n") + JSON.stringify(bob.state.tasks.get(r.task.id));
    expect(held).toContain(f.tagKey);
    expect(held).not.toContain("secret-plan");
    expect(held).not.toContain(toB64(utf8.encode("secret-plan")).slice(0, 12));
    // Ada, who reads the admin role, gets it back.
    expect(utf8.decode((await fetchFile(clientEnv(ada), { task: "#2", file: "secret-plan.txt" })).bytes)).toBe(utf8.decode(secret));
  }, 60_000);

  it("a file over the rules' limit is refused naming its size and the limit, with nothing stored on any relay and nothing in the log", async () => {
    await setup();
    expect(() => checkFileSize(clientEnv(bob), "huge.iso", 50 * MiB + 1)).toThrow(`"huge.iso" is ${50 * MiB + 1} bytes, over this pursuance's limit of ${50 * MiB} bytes (50 MiB) per file`);
    expect(() => checkFileSize(clientEnv(bob), "ok.iso", 50 * MiB)).not.toThrow();
    await ada.publish({ t: "rules.policy", files: { maxBytes: 100_000 } });
    await until("the new limit everywhere", () => all.every((c) => c.state.rules.files?.maxBytes === 100_000), all);
    const before = [await framesOn(r1.server.url), await framesOn(r2.server.url)];
    const logBefore = bob.session.log.size;
    const err = await attachFile(clientEnv(bob), { task: "#1", name: "scan.tiff", bytes: randomBytes(100_001, 5) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err).toMatchObject({ file: "scan.tiff", size: 100_001, limit: 100_000 });
    expect((err as Error).message).toMatch(/"scan.tiff" is 100001 bytes, over this pursuance's limit of 100000 bytes/);
    expect([await framesOn(r1.server.url), await framesOn(r2.server.url)]).toEqual(before);
    expect(bob.session.log.size).toBe(logBefore);
    expect(bob.state.tasks.get(bob.state.taskIds[0]!)!.files).toHaveLength(1);
    // A crafted event over the limit would be rejected by every fold, naming both numbers.
    const f = bob.state.tasks.get(bob.state.taskIds[0]!)!.files![0]!;
    expect(bob.refusal({ t: "task.attach", task: bob.state.taskIds[0]!, size: f.size, chunks: f.chunks, tagKey: f.tagKey, hashes: f.hashes, meta: f.meta })).toMatch(`a file of ${5 * MiB} bytes is over the rules' limit of 100000 bytes`);
    await ada.publish({ t: "rules.policy", files: { maxBytes: 50 * MiB } });
    await until("the limit back everywhere", () => all.every((c) => c.state.rules.files?.maxBytes === 50 * MiB), all);
  }, 60_000);

  it("a chunk that no relay gives fails, after the wait, naming the file and the chunk", async () => {
    await setup();
    const r = await attachFile(clientEnv(ada), { task: "#1", name: "minutes.odt", bytes: randomBytes(200_000, 9) });
    await until("bob sees it", () => (bob.state.tasks.get(r.task.id)!.files ?? []).length === 2, all);
    const f = bob.state.tasks.get(r.task.id)!.files![1]!;
    const tag = chunkTag(bob.crypto, fromB64(f.tagKey), 2);
    r1.withhold.add(tag);
    r2.withhold.add(tag);
    const t0 = Date.now();
    const err = await fetchFile(clientEnv(bob), { task: "#1", file: "minutes.odt", timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400);
    expect(err).toBeInstanceOf(ChunkMissingError);
    expect(err).toMatchObject({ file: "minutes.odt", chunk: 2, chunks: 4 });
    expect((err as Error).message).toBe(`chunk 3 of 4 of "minutes.odt" did not arrive from any relay within 1.5 s`);
    r1.withhold.clear();
    r2.withhold.clear();
    expect((await fetchFile(clientEnv(bob), { task: "#1", file: "2" })).bytes.length).toBe(200_000);
  }, 60_000);

  it("!task files lists names and sizes where the keys open the task, only sizes where they do not", async () => {
    await setup();
    const none = async (): Promise<never> => {
      throw new Error("not in this test");
    };
    const bot = (client: PursuanceClient, text: string) =>
      handleCommand(text, { client, sender: "@x:example.org", permission: "commands", now: Date.now, resolveUser: () => null, pursuance: { create: none, join: none, admit: none, request: none }, keys: { status: none, delegate: none, revoke: none } } as BotContext);
    const mine = await bot(bob, "!task files 1");
    expect(mine).toMatchObject({ kind: "ok" });
    expect(mine!.plain).toMatch(/^#1 FOIA: police budget .*\n2 files:\n {2}1\. budget-2026\.pdf · 5\.0 MiB · by ada\n {2}2\. minutes\.odt · 195\.3 KiB · by ada$/);
    expect(mine!.html).toContain("<b>budget-2026.pdf</b>");
    const sealed = await bot(bob, "!task files #2");
    expect(sealed!.plain).toMatch(/\n {2}1\. \(encrypted: not readable with the keys held here\) · 1010 B · by ada$/);
    expect(sealed!.plain).not.toContain("secret-plan");
    expect((await bot(ada, "!task files 2"))!.plain).toContain("1. secret-plan.txt · 1010 B · by ada");
    expect(await bot(bob, "!task files 9")).toMatchObject({ kind: "error" });
  }, 30_000);

  it("a move to a new relay copies the chunks: the file is fetched there after the old relays are gone", async () => {
    await setup();
    const r3 = await bentRelay();
    relays.push(r3);
    const moved = await moveRelays(ada, [r3.server.url]);
    expect(moved.files[r3.server.url]).toEqual({ chunks: 81 + 1 + 4, missing: [] });
    await until("both on r3", () => all.every((c) => c.group.relayUrls.join() === r3.server.url), all);
    await r1.server.close();
    await r2.server.close();
    const got = await fetchFile(clientEnv(bob), { task: "#1", file: "budget-2026.pdf", timeoutMs: 10_000 });
    expect(Buffer.compare(Buffer.from(got.bytes), Buffer.from(randomBytes(5 * MiB, 23)))).toBe(0);
    expect(got.altered).toEqual({});
    expect(got.repaired).toEqual({});
    // A dead relay first in the list holds nothing up: it is passed over for the next.
    const t0 = Date.now();
    const f = bob.state.tasks.get(bob.state.taskIds[0]!)!.files![0]!;
    // A relay that takes the connection and never says a word.
    const hole = createServer((sock) => void sock.on("error", () => undefined));
    await new Promise<void>((res) => hole.listen(0, "127.0.0.1", res));
    const holeUrl = `ws://127.0.0.1:${(hole.address() as AddressInfo).port}`;
    const raw = await fetchChunks(bob, f, "budget-2026.pdf", { relays: [holeUrl, r3.server.url], timeoutMs: 20_000 }).finally(() => hole.close());
    expect(raw.blobs).toHaveLength(81);
    expect(Date.now() - t0).toBeLessThan(4_500); // the grace (2 s), not the relay client's request timeout (5 s here) nor the wait
  }, 90_000);

  it("a relay added (relay add) gets the chunks too: with the others removed and gone, the file comes from it", async () => {
    await setup();
    const r3 = relays.at(-1)!;
    const r4 = await bentRelay();
    relays.push(r4);
    const { copied } = await ada.changeRelays({ add: r4.server.url });
    await copied;
    await ada.changeRelays({ remove: r3.server.url });
    await until("both on r4 alone", () => all.every((c) => c.group.relayUrls.join() === r4.server.url), all);
    await r3.server.close();
    const got = await fetchFile(clientEnv(bob), { task: "#1", file: "minutes.odt", timeoutMs: 10_000 });
    expect(got.bytes.length).toBe(200_000);
    expect((await fetchFile(clientEnv(bob), { task: "#1", file: "budget-2026.pdf", timeoutMs: 10_000 })).bytes.length).toBe(5 * MiB);
  }, 90_000);

  it("a slow relay (slow store, low post rate) gets every chunk too, not only the first relay to answer", async () => {
    await setup();
    const slow = await bentRelay({ appendDelayMs: 5, postsPerSecond: 30 });
    relays.push(slow);
    await (await ada.changeRelays({ add: slow.server.url })).copied;
    await until("both on the slow relay too", () => all.every((c) => c.group.relayUrls.includes(slow.server.url)), all);
    const fast = ada.relays.find((u) => u !== slow.server.url)!;
    const r = await attachFile(clientEnv(ada), { task: "#1", name: "late.bin", bytes: randomBytes(40 * 65532, 77) });
    await until("bob sees it", () => (bob.state.tasks.get(r.task.id)!.files ?? []).some((x) => x.id === r.id), all);
    const f = bob.state.tasks.get(r.task.id)!.files!.find((x) => x.id === r.id)!;
    for (const url of [slow.server.url, fast]) expect((await fetchChunks(bob, f, "late.bin", { relays: [url], timeoutMs: 5_000 })).repaired, url).toEqual({});
  }, 90_000);
});
