// Ed25519 verification on every core: a pool of worker threads, each with
// sodium-native, behind the crypto port's optional `verifyMany`. A batch of
// signatures travels as one transferred buffer (sig ‖ public key ‖ message per
// item, offsets in front) and comes back as one byte per item; nothing is
// structured-cloned per item. The pool is not believed blindly: every batch
// carries two canaries at random places, a signature known to verify and one
// known not to, and a worker that answers them wrongly, answers for another
// number of items, fails, exits or takes too long is stopped, its batch
// verified here on this thread. Without sodium-native, or once every worker
// has failed, or after close(), everything is verified here.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { SIGN_PUBLIC_BYTES, SIGNATURE_BYTES, type Crypto, type SignKeyPair, type VerifyItem } from "./crypto.js";

export interface VerifyPoolOptions {
  /** Workers; default: one per core (os.availableParallelism()). 0: verify on this thread only. */
  size?: number;
  /** Most items a worker is handed at once (a larger call is split); default 256. */
  batch?: number;
  /** Fewer items than this are verified on this thread (a round trip costs more); default 16. */
  minItems?: number;
  /**
   * Items verified on this thread before any worker starts; default 0. A short
   * catch-up is over before a worker would have loaded sodium, so a process that
   * mostly reads a few new events (a CLI command) starts workers only for a long one.
   */
  startAfter?: number;
  /** A batch not answered within this is taken back and the worker stopped; default 30 s. */
  timeoutMs?: number;
  /** Tests only: the worker's source (CommonJS, run with `eval`), to play a broken worker. */
  workerSource?: string;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const s = require(workerData.sodium);
parentPort.on("message", (m) => {
  const u8 = new Uint8Array(m.buf);
  const dv = new DataView(m.buf);
  const out = new Uint8Array(m.n);
  for (let i = 0; i < m.n; i++) {
    const at = dv.getUint32(4 * i, true);
    const end = dv.getUint32(4 * (i + 1), true);
    try {
      out[i] = s.crypto_sign_verify_detached(u8.subarray(at, at + 64), u8.subarray(at + 96, end), u8.subarray(at + 64, at + 96)) ? 1 : 0;
    } catch {
      out[i] = 0;
    }
  }
  parentPort.postMessage({ id: m.id, out }, [out.buffer]);
});
`;

interface Job {
  id: number;
  n: number;
  good: number;
  bad: number;
  resolve: (out: Uint8Array | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  dead: boolean;
}

/**
 * What a client host (the CLI, the bridge) passes as `startAfter`: about a
 * fifth of a second of one core's verifying, so reading a few new events
 * never starts a worker, and joining a big pursuance uses every core.
 */
export const CLIENT_START_AFTER = 2_000;

export class VerifyPool {
  private readonly crypto: Crypto;
  private readonly size: number;
  private readonly batch: number;
  private readonly minItems: number;
  private readonly startAfter: number;
  /** Items asked for so far, while no worker has started. */
  private asked = 0;
  private readonly timeoutMs: number;
  private readonly source: string;
  private readonly sodium: string | null;
  private slots: Slot[] | null = null;
  private closed = false;
  private nextId = 1;
  /** The pool's own signing key: each batch's canaries are signed with it. */
  private readonly canaryKey: SignKeyPair;
  /** Batches a worker failed (error, exit, timeout, a wrong answer), each then verified on this thread. */
  failures = 0;

  constructor(crypto: Crypto, o: VerifyPoolOptions = {}) {
    this.crypto = crypto;
    this.size = Math.max(0, Math.floor(o.size ?? availableParallelism()));
    this.batch = Math.max(1, o.batch ?? 256);
    this.minItems = o.minItems ?? 16;
    this.startAfter = Math.max(0, o.startAfter ?? 0);
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.source = o.workerSource ?? WORKER_SOURCE;
    let sodium: string | null = null;
    try {
      sodium = createRequire(import.meta.url).resolve("sodium-native");
    } catch {
      sodium = null;
    }
    this.sodium = sodium;
    this.canaryKey = crypto.signKeyPair();
  }

  /** Workers running now (they start on the first batch worth sending). */
  get running(): number {
    return this.slots?.filter((s) => !s.dead).length ?? 0;
  }

  /** What `crypto.verify` answers for each item, in order. */
  async verifyMany(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (this.slots === null && (this.asked += items.length) <= this.startAfter) return this.here(items);
    if (items.length < this.minItems || !this.start()) return this.here(items);
    if (items.length <= this.batch) return this.send(items);
    const parts: Array<Promise<boolean[]>> = [];
    for (let i = 0; i < items.length; i += this.batch) parts.push(this.send(items.slice(i, i + this.batch)));
    return (await Promise.all(parts)).flat();
  }

  /** Stop every worker; batches they hold are verified here. Later calls verify here. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots ?? [];
    this.slots = [];
    await Promise.all(slots.map((s) => this.kill(s)));
  }

  private here(items: readonly VerifyItem[]): boolean[] {
    return items.map((it) => this.crypto.verify(it.sig, it.message, it.publicKey));
  }

  /** Whether there is a worker to send to, starting them on first use. */
  private start(): boolean {
    if (this.closed || this.size === 0 || this.sodium === null) return false;
    if (this.slots === null) {
      this.slots = [];
      for (let i = 0; i < this.size; i++) {
        try {
          this.slots.push(this.spawn());
        } catch {
          break;
        }
      }
    }
    return this.slots.some((s) => !s.dead);
  }

  private spawn(): Slot {
    const worker = new Worker(this.source, { eval: true, workerData: { sodium: this.sodium } });
    worker.unref(); // idle workers never hold the process open; one with a batch is ref'd meanwhile
    const slot: Slot = { worker, jobs: new Map(), dead: false };
    worker.on("message", (m: { id?: unknown; out?: unknown }) => {
      const job = typeof m?.id === "number" ? slot.jobs.get(m.id) : undefined;
      if (!job) return void this.broken(slot);
      this.finish(slot, job, m.out instanceof Uint8Array ? m.out : null);
    });
    worker.on("error", () => this.broken(slot));
    worker.on("exit", () => this.broken(slot));
    return slot;
  }

  private async send(items: readonly VerifyItem[]): Promise<boolean[]> {
    const slot = this.pick();
    if (!slot) return this.here(items);
    // Items a signature of the wrong size cannot verify (verify answers false) stay here.
    const n = items.length + 2;
    const good = Math.floor(Math.random() * n);
    let bad = Math.floor(Math.random() * (n - 1));
    if (bad >= good) bad++;
    // Canaries as long as the batch's own messages (a copy of one of them, signed by the pool), so a
    // worker that goes wrong only on some sizes is caught on the sizes it is given.
    const like = items[Math.floor(Math.random() * items.length)]!.message;
    const sig = this.crypto.sign(like, this.canaryKey.secretKey);
    const badSig = sig.slice();
    badSig[Math.floor(Math.random() * 32)]! ^= 1 << Math.floor(Math.random() * 8);
    const canary = { good: { sig, message: like, publicKey: this.canaryKey.publicKey }, bad: { sig: badSig, message: like, publicKey: this.canaryKey.publicKey } };
    const order: VerifyItem[] = [];
    for (let i = 0, k = 0; i < n; i++) order.push(i === good ? canary.good : i === bad ? canary.bad : items[k++]!);
    let bytes = 4 * (n + 1);
    for (const it of order) bytes += SIGNATURE_BYTES + SIGN_PUBLIC_BYTES + it.message.length;
    const buf = new ArrayBuffer(bytes);
    const u8 = new Uint8Array(buf);
    const dv = new DataView(buf);
    const fit = new Uint8Array(order.length);
    let at = 4 * (n + 1);
    for (let i = 0; i < n; i++) {
      const it = order[i]!;
      dv.setUint32(4 * i, at, true);
      fit[i] = it.sig.length === SIGNATURE_BYTES && it.publicKey.length === SIGN_PUBLIC_BYTES ? 1 : 0;
      if (fit[i]) {
        u8.set(it.sig, at);
        u8.set(it.publicKey, at + SIGNATURE_BYTES);
      }
      u8.set(it.message, at + SIGNATURE_BYTES + SIGN_PUBLIC_BYTES);
      at += SIGNATURE_BYTES + SIGN_PUBLIC_BYTES + it.message.length;
    }
    dv.setUint32(4 * n, at, true);
    const out = await new Promise<Uint8Array | null>((resolve) => {
      const id = this.nextId++;
      const timer = setTimeout(() => this.broken(slot), this.timeoutMs);
      timer.unref?.();
      if (slot.jobs.size === 0) slot.worker.ref();
      slot.jobs.set(id, { id, n, good, bad, resolve, timer });
      try {
        slot.worker.postMessage({ id, buf, n }, [buf]);
      } catch {
        this.broken(slot);
      }
    });
    if (out === null) {
      this.failures++;
      return this.here(items);
    }
    const res: boolean[] = [];
    for (let i = 0; i < n; i++) if (i !== good && i !== bad) res.push(fit[i] === 1 && out[i] === 1);
    return res;
  }

  /** The live worker with the fewest batches in hand. */
  private pick(): Slot | null {
    let best: Slot | null = null;
    for (const s of this.slots ?? []) if (!s.dead && (best === null || s.jobs.size < best.jobs.size)) best = s;
    return best;
  }

  private finish(slot: Slot, job: Job, out: Uint8Array | null) {
    slot.jobs.delete(job.id);
    clearTimeout(job.timer);
    if (slot.jobs.size === 0 && !slot.dead) slot.worker.unref();
    // The answer is believed only in full: one byte per item, each 0 or 1, both canaries right.
    let ok = out !== null && out.length === job.n && out[job.good] === 1 && out[job.bad] === 0;
    if (ok) for (let i = 0; i < job.n; i++) if (out![i]! > 1) ok = false;
    if (!ok) {
      job.resolve(null);
      return void this.broken(slot);
    }
    job.resolve(out);
  }

  /** A worker that failed in any way is stopped for good; what it held is verified here. */
  private broken(slot: Slot) {
    if (slot.dead) return;
    slot.dead = true;
    void this.kill(slot);
  }

  private async kill(slot: Slot) {
    slot.dead = true;
    for (const job of slot.jobs.values()) {
      clearTimeout(job.timer);
      job.resolve(null);
    }
    slot.jobs.clear();
    slot.worker.removeAllListeners("message");
    await slot.worker.terminate().catch(() => undefined);
  }
}

/** The crypto port with `verifyMany` on the pool (and `close` to stop it). */
export function withVerifyPool(crypto: Crypto, pool: VerifyPool): Crypto & { close(): Promise<void> } {
  return { ...crypto, verifyMany: (items) => pool.verifyMany(items), close: () => pool.close() };
}
