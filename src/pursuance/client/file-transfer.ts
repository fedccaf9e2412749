// Moving a document's chunk frames (files.ts) to and from the relays, through
// connections of our own (ports.connect), as a move copies history. Posting:
// every chunk must land on at least one relay. Fetching: each frame is checked
// against the chunk hash the signed event carries, so a relay that alters a
// chunk is caught (and named) and the chunk taken from the next relay; a
// chunk no relay gives before the deadline fails naming the file and chunk.
import { fromB64 } from "../../cwtch/bytes.js";
import type { RelayClient } from "../../cwtch/relay-client.js";
import { ActionError } from "../actions.js";
import type { FileRef } from "../events.js";
import { chunkHash, chunkTag, expectedHash } from "../files.js";
import type { ClientPorts } from "../ports.js";
import type { PursuanceState, TaskFile } from "../state.js";

export interface TransferProgress {
  done: number;
  total: number;
}

export interface TransferHost {
  readonly ports: ClientPorts;
  /** The relays in use. */
  readonly relays: string[];
}

/** A chunk no relay gave (or gave unaltered) before the deadline. */
export class ChunkMissingError extends Error {
  constructor(
    readonly file: string,
    readonly chunk: number,
    readonly chunks: number,
    readonly waitedMs: number,
    readonly altered: Record<string, number>,
  ) {
    const bent = Object.entries(altered).filter(([, n]) => n > 0);
    super(
      `chunk ${chunk + 1} of ${chunks} of "${file}" did not arrive from any relay within ${Math.round(waitedMs / 100) / 10} s` +
        (bent.length > 0 ? ` (altered chunks refused from ${bent.map(([u, n]) => `${u}: ${n}`).join(", ")})` : ""),
    );
    this.name = "ChunkMissingError";
  }
}

const POST_WINDOW = 16;
/** After every chunk is on one relay, how long the others may take to finish theirs. */
const TRAIL_MS = 10_000;
/** How long a round waits for a relay to greet us before asking the next one. */
const CONNECT_GRACE_MS = 2_000;
/** Tags per fetch request: below the relay's default limit of 256. */
const FETCH_BATCH = 128;

function open(host: TransferHost, urls: string[]): RelayClient[] {
  return urls.map((u) => host.ports.connect(u).start());
}

/**
 * Post frames to every relay in use; resolves once each frame is held by at
 * least one of them and the others have had up to TRAIL_MS more to take their
 * copies (a relay that refused or timed out once is given no more). Whatever a
 * slow relay still lacks then, a reader posts back to it (fetchChunks).
 */
export async function postChunks(host: TransferHost, frames: ReadonlyArray<{ tag: string; blob: Uint8Array }>, o: { onProgress?(p: TransferProgress): void } = {}): Promise<void> {
  const relays = open(host, host.relays);
  if (relays.length === 0) throw new ActionError("the pursuance names no relay to store the file on");
  const failed = new Set<RelayClient>();
  const trailing: Array<Promise<unknown>> = [];
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < frames.length) {
      const i = next++;
      const f = frames[i]!;
      const live = relays.filter((r) => !failed.has(r));
      const posts = live.map((r) =>
        r.post(f.tag, f.blob).catch((e: Error) => {
          failed.add(r);
          throw e;
        }),
      );
      trailing.push(Promise.allSettled(posts));
      try {
        if (posts.length === 0) throw new AggregateError([], "every relay failed an earlier chunk");
        await Promise.any(posts);
      } catch (e) {
        next = frames.length;
        const why = e instanceof AggregateError && e.errors.length > 0 ? e.errors.map((x: Error) => x.message).join("; ") : (e as Error).message;
        throw new ActionError(`no relay took chunk ${i + 1} of ${frames.length}: ${why}`, i);
      }
      done++;
      o.onProgress?.({ done, total: frames.length });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(POST_WINDOW, frames.length) }, worker));
    let t: { cancel(): void } | undefined;
    await Promise.race([Promise.allSettled(trailing), new Promise<void>((res) => (t = host.ports.setTimer(res, TRAIL_MS)))]);
    t?.cancel();
  } finally {
    for (const r of relays) r.close();
  }
}

export interface FetchChunksOptions {
  /** How long to keep asking for a chunk that has not come (default 30 s). */
  timeoutMs?: number;
  /** Pause between rounds over the relays (default 1 s). */
  retryMs?: number;
  onProgress?(p: TransferProgress): void;
  /** Relays to read, in order (default: those in use). */
  relays?: string[];
  /** Frames already at hand (this member's own copy), checked like any relay's before they are taken. */
  have?: ReadonlyMap<string, Uint8Array>;
}

export interface FetchedChunks {
  blobs: Uint8Array[];
  /** Per relay, the frames refused because their hash did not match. */
  altered: Record<string, number>;
  /** Per relay, the chunks it lacked (or gave altered) that we posted back to it, as events are repaired. */
  repaired: Record<string, number>;
}

/** How long a fetch waits for its repairs before returning (they are best effort). */
const REPAIR_WAIT_MS = 10_000;

/**
 * Fetch every chunk of a file, checked against its hash: relay by relay, only
 * what is still missing, in rounds until `timeoutMs` has passed.
 */
export async function fetchChunks(host: TransferHost, ref: FileRef, label: string, o: FetchChunksOptions = {}): Promise<FetchedChunks> {
  const { crypto } = host.ports;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const started = host.ports.now();
  const tagKey = fromB64(ref.tagKey);
  const byTag = new Map<string, number>();
  for (let i = 0; i < ref.chunks; i++) byTag.set(chunkTag(crypto, tagKey, i), i);
  const blobs: Array<Uint8Array | undefined> = new Array(ref.chunks);
  const altered: Record<string, number> = {};
  /** Chunks a relay was asked for and did not give whole. */
  const lacked = new Map<RelayClient, number[]>();
  let done = 0;
  const urls = o.relays ?? host.relays;
  const relays = open(host, urls);
  const sleep = (ms: number) => new Promise<void>((r) => host.ports.setTimer(r, ms));
  const left = () => started + timeoutMs - host.ports.now();
  const take = (url: string, tag: string, bytes: Uint8Array) => {
    const i = byTag.get(tag);
    if (i === undefined || blobs[i]) return;
    const want = expectedHash(ref, i);
    const got = chunkHash(crypto, bytes);
    if (got.length !== want.length || got.some((b, k) => b !== want[k])) {
      altered[url] = (altered[url] ?? 0) + 1;
      return;
    }
    blobs[i] = bytes;
    done++;
    o.onProgress?.({ done, total: ref.chunks });
  };
  const fromRelay = async (r: RelayClient): Promise<void> => {
    // A relay that does not greet us soon is passed over this round: a dead first relay must not hold the file.
    if (!r.connected) {
      let t: { cancel(): void } | undefined;
      await Promise.race([r.ready(), new Promise<void>((res) => (t = host.ports.setTimer(res, Math.max(1, Math.min(CONNECT_GRACE_MS, left())))))]);
      t?.cancel();
      if (!r.connected) return;
    }
    const missing = [...byTag.entries()].filter(([, i]) => !blobs[i]).map(([t]) => t);
    for (let k = 0; k < missing.length; k += FETCH_BATCH) {
      const batch = missing.slice(k, k + FETCH_BATCH);
      let timer: { cancel(): void } | undefined;
      const late = new Promise<never>((_, rej) => (timer = host.ports.setTimer(() => rej(new Error("deadline")), Math.max(1, left()))));
      try {
        await Promise.race([r.fetch(batch, 0, (f) => take(r.url, f.tag, fromB64(f.blob))), late]);
      } finally {
        timer?.cancel();
      }
      // The relay answered this batch in full: what it did not give whole, it lacks.
      const gaps = batch.map((t) => byTag.get(t)!).filter((i) => !blobs[i]);
      if (gaps.length > 0) lacked.set(r, [...(lacked.get(r) ?? []), ...gaps]);
    }
  };
  /** Post back to each relay the chunks it lacked (best effort, bounded): as any member re-posts events. */
  const repair = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    const work = [...lacked].filter(([r]) => r.connected).map(async ([r, idx]) => {
      for (const i of new Set(idx)) {
        await r.post(chunkTag(crypto, tagKey, i), blobs[i]!);
        out[r.url] = (out[r.url] ?? 0) + 1;
      }
    });
    if (work.length === 0) return out;
    let t: { cancel(): void } | undefined;
    await Promise.race([Promise.allSettled(work), new Promise<void>((res) => (t = host.ports.setTimer(res, REPAIR_WAIT_MS)))]);
    t?.cancel();
    return out;
  };
  // Our own copy first: what it holds whole needs no relay (a copy that does not match is counted, as a relay's would be).
  for (const [tag, blob] of o.have ?? []) take("(this member's copy)", tag, blob);
  try {
    for (;;) {
      for (const r of relays) {
        if (done === ref.chunks) break;
        await fromRelay(r).catch(() => undefined);
      }
      if (done === ref.chunks) return { blobs: blobs as Uint8Array[], altered, repaired: await repair() };
      if (left() <= 0) {
        let first = 0;
        while (blobs[first]) first++;
        throw new ChunkMissingError(label, first, ref.chunks, timeoutMs, altered);
      }
      await sleep(Math.min(o.retryMs ?? 1_000, Math.max(1, left())));
    }
  } finally {
    for (const r of relays) r.close();
  }
}

export interface FileCopyResult {
  /** Chunk frames the relay acknowledged. */
  chunks: number;
  /** Files some chunk of which no relay in use gave (lost before the move): named by their event id. */
  missing: string[];
}

/**
 * Copy every document's chunk frames (of every task, readable or not: the
 * frames are opaque, their tags follow from the event) from the relays in use
 * to `url`, as a move copies the history. A file no relay holds whole is
 * named in `missing`, not a reason to stop the move.
 */
export async function copyFiles(host: TransferHost, files: ReadonlyArray<{ id: string } & FileRef>, url: string, o: { timeoutMs?: number } = {}): Promise<FileCopyResult> {
  const from = host.relays.filter((u) => u !== url);
  const out: FileCopyResult = { chunks: 0, missing: [] };
  if (files.length === 0) return out;
  const to = host.ports.connect(url).start();
  try {
    for (const f of files) {
      let got: FetchedChunks;
      try {
        got = await fetchChunks(host, f, f.id, { relays: from, timeoutMs: o.timeoutMs ?? 10_000 });
      } catch (e) {
        if (!(e instanceof ChunkMissingError)) throw e;
        out.missing.push(f.id);
        continue;
      }
      const crypto = host.ports.crypto;
      const tagKey = fromB64(f.tagKey);
      let next = 0;
      const worker = async () => {
        while (next < f.chunks) {
          const i = next++;
          await to.post(chunkTag(crypto, tagKey, i), got.blobs[i]!);
          out.chunks++;
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(POST_WINDOW, f.chunks) }, worker));
      } catch (e) {
        throw new ActionError(`relay ${url} did not take the chunks of file ${f.id.slice(0, 12)}: ${(e as Error).message}`, url);
      }
    }
  } finally {
    to.close();
  }
  return out;
}

/** Every document of every task, in the log's order: what a move or an added relay must hold. */
export function documents(s: PursuanceState): TaskFile[] {
  return s.taskIds.flatMap((t) => s.tasks.get(t)!.files ?? []);
}

/** After `history` is copied to a relay just added, the documents' chunks too, so a relay removed later takes no file with it. */
export async function copyFilesAfter(host: TransferHost & { readonly state: PursuanceState }, history: Promise<void>, url: string): Promise<void> {
  await history;
  await copyFiles(host, documents(host.state), url);
}
