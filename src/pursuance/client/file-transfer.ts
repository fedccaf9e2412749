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
  /** The moment (ports.now) to stop asking: overrides `timeoutMs` (copyFiles shares one for all its files). */
  deadline?: number;
  /** Pause between rounds over the relays (default 1 s). */
  retryMs?: number;
  /** How long a relay may go without giving a frame of a fetch before it is passed over for the round (default FETCH_STALL_MS). */
  stallMs?: number;
  /**
   * Relays (urls) that failed to greet or stalled earlier, shared between fetches (copyFiles): they get
   * no first-round grace past the deadline, and every relay that fails so here is added.
   */
  slow?: Set<string>;
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
  /**
   * Per relay, the chunks it lacked (or gave altered) that we are posting back to it, as events are
   * repaired: at most REPAIR_MAX_CHUNKS per relay, in the background (the fetch does not wait for them).
   */
  repaired: Record<string, number>;
  /** Settles (never rejects) once the re-posts are acknowledged or REPAIR_WAIT_MS has passed: per relay, those acknowledged. */
  repairs: Promise<Record<string, number>>;
}

/** How long the background repairs of a fetch may take before its connections are closed (they are best effort). */
const REPAIR_WAIT_MS = 10_000;
/** A relay that gives no frame of a fetch for this long is passed over for the round (a mute relay first in the list must not hold the file). */
export const FETCH_STALL_MS = 5_000;
/** At most this many chunks are posted back to one relay per fetch: a relay that always claims to lack chunks gets no whole file each time. */
export const REPAIR_MAX_CHUNKS = 64;

/**
 * Fetch every chunk of a file, checked against its hash: relay by relay, only
 * what is still missing, in rounds until `timeoutMs` has passed. In the first
 * round each relay gets its full greeting grace and stall time even past the
 * deadline (unless it was slow before, `slow`): one honest look per file.
 */
export async function fetchChunks(host: TransferHost, ref: FileRef, label: string, o: FetchChunksOptions = {}): Promise<FetchedChunks> {
  const { crypto } = host.ports;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const started = host.ports.now();
  const deadline = o.deadline ?? started + timeoutMs;
  const stallMs = o.stallMs ?? FETCH_STALL_MS;
  const slow = o.slow ?? new Set<string>();
  const tagKey = fromB64(ref.tagKey);
  const byTag = new Map<string, number>();
  for (let i = 0; i < ref.chunks; i++) byTag.set(chunkTag(crypto, tagKey, i), i);
  const blobs: Array<Uint8Array | undefined> = new Array(ref.chunks);
  const altered: Record<string, number> = {};
  /** Chunks a relay was asked for and did not give whole: a set (no index twice however many rounds), at most REPAIR_MAX_CHUNKS. */
  const lacked = new Map<RelayClient, Set<number>>();
  let done = 0;
  let firstRound = true;
  const urls = o.relays ?? host.relays;
  const relays = open(host, urls);
  const sleep = (ms: number) => new Promise<void>((r) => host.ports.setTimer(r, ms));
  const left = () => deadline - host.ports.now();
  /** A wait of up to `ms`, cut to what is left of the deadline (in the first round, only for a relay slow before). */
  const bound = (url: string, ms: number) => Math.max(1, firstRound && !slow.has(url) ? ms : Math.min(ms, left()));
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
      await Promise.race([r.ready(), new Promise<void>((res) => (t = host.ports.setTimer(res, bound(r.url, CONNECT_GRACE_MS))))]);
      t?.cancel();
      if (!r.connected) {
        slow.add(r.url);
        return;
      }
    }
    const missing = [...byTag.entries()].filter(([, i]) => !blobs[i]).map(([t]) => t);
    for (let k = 0; k < missing.length; k += FETCH_BATCH) {
      const batch = missing.slice(k, k + FETCH_BATCH);
      // A stall timer, restarted by every frame: a relay that answers slowly but steadily is waited for; a mute one is not.
      let timer: { cancel(): void } | undefined;
      let stalled!: (e: Error) => void;
      const late = new Promise<never>((_, rej) => (stalled = rej));
      const arm = () => {
        timer?.cancel();
        timer = host.ports.setTimer(() => stalled(new Error("stalled")), bound(r.url, stallMs));
      };
      arm();
      try {
        await Promise.race([
          r.fetch(batch, 0, (f) => {
            arm();
            take(r.url, f.tag, fromB64(f.blob));
          }),
          late,
        ]);
      } catch (e) {
        if ((e as Error).message === "stalled") slow.add(r.url);
        throw e;
      } finally {
        timer?.cancel();
      }
      // The relay answered this batch in full: what it did not give whole, it lacks.
      let gaps = lacked.get(r);
      for (const t of batch) {
        const i = byTag.get(t)!;
        if (blobs[i]) continue;
        if (!gaps) lacked.set(r, (gaps = new Set()));
        if (gaps.size < REPAIR_MAX_CHUNKS) gaps.add(i);
      }
    }
  };
  /** Post back to each relay the chunks it lacked (best effort, bounded, in the background): as any member re-posts events. */
  const repair = (): { repaired: Record<string, number>; repairs: Promise<Record<string, number>>; held: Set<RelayClient> } => {
    const repaired: Record<string, number> = {};
    const acked: Record<string, number> = {};
    const work = [...lacked].filter(([r, idx]) => r.connected && idx.size > 0);
    const held = new Set(work.map(([r]) => r));
    if (work.length === 0) return { repaired, repairs: Promise.resolve(acked), held };
    const posts = work.map(async ([r, idx]) => {
      repaired[r.url] = idx.size;
      for (const i of idx) {
        await r.post(chunkTag(crypto, tagKey, i), blobs[i]!);
        acked[r.url] = (acked[r.url] ?? 0) + 1;
      }
    });
    let t: { cancel(): void } | undefined;
    const repairs = Promise.race([Promise.allSettled(posts), new Promise<void>((res) => (t = host.ports.setTimer(res, REPAIR_WAIT_MS)))]).then(() => {
      t?.cancel();
      for (const r of held) r.close();
      return { ...acked };
    });
    return { repaired, repairs, held };
  };
  // Our own copy first: what it holds whole needs no relay (a copy that does not match is counted, as a relay's would be).
  for (const [tag, blob] of o.have ?? []) take("(this member's copy)", tag, blob);
  let held = new Set<RelayClient>();
  try {
    for (;;) {
      for (const r of relays) {
        if (done === ref.chunks) break;
        await fromRelay(r).catch(() => undefined);
      }
      firstRound = false;
      if (done === ref.chunks) {
        const r = repair();
        held = r.held;
        return { blobs: blobs as Uint8Array[], altered, repaired: r.repaired, repairs: r.repairs };
      }
      if (left() <= 0) {
        let first = 0;
        while (blobs[first]) first++;
        throw new ChunkMissingError(label, first, ref.chunks, o.deadline === undefined ? timeoutMs : host.ports.now() - started, altered);
      }
      await sleep(Math.min(o.retryMs ?? 1_000, Math.max(1, left())));
    }
  } finally {
    // The relays still taking repairs are closed when those end.
    for (const r of relays) if (!held.has(r)) r.close();
  }
}

export interface FileCopyResult {
  /** Chunk frames the relay acknowledged. */
  chunks: number;
  /** Files some chunk of which no relay in use gave (lost before the move): named by their event id. */
  missing: string[];
}

/** Files copyFiles fetches at once. */
const COPY_WINDOW = 4;

export interface CopyFilesOptions {
  /** One deadline for the lot (default 10 s from the start): a file not whole by then is missing, however many there are. */
  timeoutMs?: number;
  /** As for fetchChunks (tests shorten it). */
  stallMs?: number;
}

/**
 * Copy every document's chunk frames (of every task, readable or not: the
 * frames are opaque, their tags follow from the event) from the relays in use
 * to `url`, as a move copies the history. A file no relay holds whole is
 * named in `missing`, not a reason to stop the move. Files are fetched
 * COPY_WINDOW at a time under one deadline for all of them: files no relay
 * holds (a phantom attach) cost one wait together, not one each; past the
 * deadline each remaining file still gets one look at every relay that has
 * not been slow.
 */
export async function copyFiles(host: TransferHost, files: ReadonlyArray<{ id: string } & FileRef>, url: string, o: CopyFilesOptions = {}): Promise<FileCopyResult> {
  const from = host.relays.filter((u) => u !== url);
  const out: FileCopyResult = { chunks: 0, missing: [] };
  if (files.length === 0) return out;
  const deadline = host.ports.now() + (o.timeoutMs ?? 10_000);
  const slow = new Set<string>();
  const to = host.ports.connect(url).start();
  const crypto = host.ports.crypto;
  let failed: ActionError | null = null;
  const copyOne = async (f: { id: string } & FileRef): Promise<void> => {
    let got: FetchedChunks;
    try {
      got = await fetchChunks(host, f, f.id, { relays: from, deadline, slow, ...(o.stallMs !== undefined ? { stallMs: o.stallMs } : {}) });
    } catch (e) {
      if (!(e instanceof ChunkMissingError)) throw e;
      out.missing.push(f.id);
      return;
    }
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
  };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length && !failed) {
      try {
        await copyOne(files[next++]!);
      } catch (e) {
        failed ??= e instanceof ActionError ? e : new ActionError((e as Error).message, url);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(COPY_WINDOW, files.length) }, lane));
  } finally {
    to.close();
  }
  if (failed) throw failed;
  // The log's order, whatever order the lanes finished in.
  const order = new Map(files.map((f, i) => [f.id, i]));
  out.missing.sort((a, b) => order.get(a)! - order.get(b)!);
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
