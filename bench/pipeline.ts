// Client receive pipeline and raw crypto, per backend. GroupSession.receive
// (base64url decode, XChaCha20-Poly1305 open, unpad, decode, Ed25519 verify,
// group/epoch binding, dedupe, causal log) is measured beside a bare loop of
// crypto.verify over the same signed messages: verification is the floor.
import { concat, toB64, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type CryptoBackendName } from "../src/cwtch/crypto.js";
import { GroupSession } from "../src/cwtch/group-session.js";
import { VerifyPool, withVerifyPool } from "../src/cwtch/verify-pool.js";
import type { SignedEvent } from "../src/cwtch/message.js";
import { cpus } from "node:os";
import { PIPELINE_BOUND, PIPELINE_ONE_CORE_BOUND } from "./bounds.js";
import { metric, type Metric } from "./report.js";
import { sharedSessions } from "./sessions.js";
import { opsPerSecond, progress, since, sized } from "./util.js";

const BACKENDS: CryptoBackendName[] = ["libsodium-wrappers", "sodium-native"];
/** The signature domain of message.ts (not exported there): what Ed25519 signs is this ‖ the unsigned encoding. */
const SIG_DOMAIN = utf8.encode("pursuance/msg/v1\0");

export interface PreSealed {
  groupId: Uint8Array;
  epoch: number;
  key: Uint8Array;
  tag: string;
  /** base64url blobs, as a relay hands them to the client. */
  blobs: string[];
  events: SignedEvent[];
}

/** N frames from 3 authors taking turns at random, 1 KiB bodies, sealed by the real compose(). */
export function preSeal(crypto: Crypto, n: number): PreSealed {
  const groupId = crypto.randomBytes(32);
  const key = crypto.randomBytes(32);
  const epoch = 1;
  let clock = 1_700_000_000_000;
  const ids = [0, 1, 2].map(() => crypto.signKeyPair());
  const sessions = sharedSessions(crypto, ids, groupId, [{ epoch, key }], () => (clock += 10));
  const blobs: string[] = [];
  const events: SignedEvent[] = [];
  let tag = "";
  for (let i = 0; i < n; i++) {
    const { event, frame } = sessions[(i * 7 + (i >> 3)) % 3]!.compose(crypto.randomBytes(1024));
    blobs.push(toB64(frame.blob));
    events.push(event);
    tag = frame.tag;
  }
  return { groupId, epoch, key, tag, blobs, events };
}

/** Events/s of GroupSession.receive over every frame, into a fresh session; best of `reps`. */
export function receiveRate(crypto: Crypto, f: PreSealed, reps: number): number {
  let best = 0;
  for (let r = 0; r < reps; r++) {
    const s = new GroupSession({ crypto, identity: crypto.signKeyPair(), groupId: f.groupId, epochs: [{ epoch: f.epoch, key: f.key }], now: Date.now });
    let delivered = 0;
    const t0 = performance.now();
    for (const b of f.blobs) {
      const o = s.receive(f.tag, b);
      if (o.type === "event" && o.status === "delivered") delivered += o.delivered.length;
    }
    const rate = f.blobs.length / since(t0);
    if (delivered !== f.blobs.length) throw new Error(`receive delivered ${delivered} of ${f.blobs.length} (drops: ${JSON.stringify([...s.drops])})`);
    best = Math.max(best, rate);
  }
  return best;
}

/**
 * Events/s of GroupSession.receiveMany over every frame at once, into a fresh session, with
 * `crypto` verifying on a worker pool (started and warmed before timing); best of `reps`.
 */
export async function receiveManyRate(crypto: Crypto, f: PreSealed, reps: number): Promise<number> {
  let best = 0;
  for (let r = 0; r < reps; r++) {
    const s = new GroupSession({ crypto, identity: crypto.signKeyPair(), groupId: f.groupId, epochs: [{ epoch: f.epoch, key: f.key }], now: Date.now });
    const frames = f.blobs.map((blob) => ({ tag: f.tag, blob }));
    const t0 = performance.now();
    const out = await s.receiveMany(frames);
    const rate = f.blobs.length / since(t0);
    let delivered = 0;
    for (const o of out) if (o.type === "event" && o.status === "delivered") delivered += o.delivered.length;
    if (delivered !== f.blobs.length) throw new Error(`receiveMany delivered ${delivered} of ${f.blobs.length} (drops: ${JSON.stringify([...s.drops])})`);
    best = Math.max(best, rate);
  }
  return best;
}

/** A verify pool on every core for `crypto`, its workers started and warm. */
export async function warmPool(crypto: Crypto, f: PreSealed): Promise<{ crypto: Crypto; pool: VerifyPool }> {
  const pool = new VerifyPool(crypto);
  const pooled = withVerifyPool(crypto, pool);
  const s = new GroupSession({ crypto: pooled, identity: crypto.signKeyPair(), groupId: f.groupId, epochs: [{ epoch: f.epoch, key: f.key }], now: Date.now });
  await s.receiveMany(f.blobs.slice(0, Math.min(f.blobs.length, 1024)).map((blob) => ({ tag: f.tag, blob })));
  return { crypto: pooled, pool };
}

export async function benchPipeline(quick: boolean): Promise<Metric[]> {
  const n = sized(20_000, 3_000, 200);
  const reps = sized(2, 1, 1);
  const minSec = sized(1, 0.3, 0.02);
  const out: Metric[] = [];
  const cryptos = new Map<CryptoBackendName, Crypto>();
  for (const b of BACKENDS) {
    const c = await loadCrypto(b);
    if (c.backend === b) cryptos.set(b, c);
  }
  const any = cryptos.get("sodium-native") ?? cryptos.get("libsodium-wrappers")!;

  // Raw primitives on 1 KiB messages.
  const msg = any.randomBytes(1024);
  const kp = any.signKeyPair();
  const nonce = any.randomBytes(24);
  const aeadKey = any.randomBytes(32);
  const ad = any.randomBytes(34);
  const raw = new Map<string, number>();
  for (const [name, c] of cryptos) {
    progress(`crypto primitives: ${name}`);
    const sig = c.sign(msg, kp.secretKey);
    const ct = c.aeadEncrypt(msg, ad, nonce, aeadKey);
    const batch = 500;
    raw.set(`${name}.verify`, opsPerSecond(() => { for (let i = 0; i < batch; i++) if (!c.verify(sig, msg, kp.publicKey)) throw new Error("verify"); }, batch, minSec));
    raw.set(`${name}.sign`, opsPerSecond(() => { for (let i = 0; i < batch; i++) c.sign(msg, kp.secretKey); }, batch, minSec));
    raw.set(`${name}.decrypt`, opsPerSecond(() => { for (let i = 0; i < batch; i++) if (!c.aeadDecrypt(ct, ad, nonce, aeadKey)) throw new Error("decrypt"); }, batch, minSec));
  }
  for (const [op, label, unit] of [["verify", "Ed25519 verify 1 KiB", "verify/s"], ["sign", "Ed25519 sign 1 KiB", "sign/s"], ["decrypt", "XChaCha20-Poly1305 open 1 KiB", "decrypt/s"]] as const) {
    const lib = raw.get(`libsodium-wrappers.${op}`) ?? null;
    const nat = raw.get(`sodium-native.${op}`) ?? null;
    out.push(metric(`crypto.${op}.libsodium-wrappers`, lib, unit, null, { note: label }));
    out.push(metric(`crypto.${op}.sodium-native`, nat, unit, lib, { note: nat === null ? "sodium-native did not load" : `${label}; baseline libsodium-wrappers` }));
  }

  progress(`pipeline: sealing ${n} frames (3 authors, 1 KiB bodies)`);
  const frames = preSeal(any, n);
  // The exact bytes each signature covers, built before timing.
  const signed = frames.events.map((e) => ({ sig: e.sig, author: e.author, m: concat(SIG_DOMAIN, e.bytes.subarray(0, e.bytes.length - 64)) }));
  const pipe = new Map<CryptoBackendName, number>();
  const bareOf = new Map<CryptoBackendName, number>();
  let poolRate: number | null = null;
  for (const [name, c] of cryptos) {
    progress(`pipeline: ${name}`);
    let bare = 0;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      for (const s of signed) if (!c.verify(s.sig, s.m, s.author)) throw new Error("bare verify failed");
      bare = Math.max(bare, signed.length / since(t0));
    }
    const rate = receiveRate(c, frames, reps);
    pipe.set(name, rate);
    bareOf.set(name, bare);
    if (name === "sodium-native" || !cryptos.has("sodium-native")) {
      progress(`pipeline: ${name}, receiveMany on a verify pool of ${cpus().length} workers`);
      const { crypto: pooled, pool } = await warmPool(c, frames);
      try {
        poolRate = await receiveManyRate(pooled, frames, reps);
      } finally {
        await pool.close();
      }
    }
    out.push(metric(`pipeline.receive.${name}`, rate, "events/s", bare, { ...(name === "sodium-native" ? { target: 0.8, bound: PIPELINE_ONE_CORE_BOUND } : {}), note: `${n} frames, 3 authors, 1 KiB bodies; baseline: bare crypto.verify loop, same messages` }));
  }
  const lib = pipe.get("libsodium-wrappers") ?? null;
  const nat = pipe.get("sodium-native") ?? null;
  // What a client gets from every core it has, against what one core can verify.
  const best = nat !== null ? "sodium-native" : "libsodium-wrappers";
  out.push(
    metric(`pipeline.receive.all-cores`, poolRate, "events/s", bareOf.get(best) ?? null, {
      target: 1.6,
      note: `GroupSession.receiveMany with signatures verified on a worker pool, one worker per core (${cpus().length}); baseline: bare verify loop on one core (${best})`,
      bound: PIPELINE_BOUND,
    }),
  );
  out.push(metric("pipeline.receive.native-vs-wasm", nat, "events/s", lib, { note: "sodium-native pipeline; baseline libsodium-wrappers pipeline" }));
  return out;
}
