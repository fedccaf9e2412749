// Generates test/vectors/messages.json: fixed inputs → canonical bytes,
// signature, event id, epoch keys and sealed frame, for a second implementation.
// Everything is deterministic (Ed25519 signatures, fixed nonces), so running
// this again must produce a byte-identical file; test/vectors.test.ts checks
// both crypto backends against it.
//
//   npx tsx test/vectors/generate.ts
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { concat, toB64, toHex, utf8 } from "../../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type CryptoBackendName, type SignKeyPair } from "../../src/cwtch/crypto.js";
import { BUCKETS, deriveEpochKeys, pad, sealFrame, type EpochKeys } from "../../src/cwtch/envelope.js";
import { signControl, signEvent, type ControlTypeName, type SignedControl, type SignedEvent } from "../../src/cwtch/message.js";
import { encodeHeads, encodeWant } from "../../src/cwtch/sync-controls.js";

export const fill = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte);
export const seq8 = (n: number, start: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

/** The fixed world every vector lives in. */
export const FIXED = {
  seeds: { A: fill(32, 0x01), B: fill(32, 0x02) },
  group: seq8(32, 0x00),
  epochKeys: { 0: seq8(32, 0x20), 1: fill(32, 0xee) } as Record<number, Uint8Array>,
  ts: 1_700_000_000_000,
};

export interface EventCase {
  name: string;
  kind: "event";
  author: "A" | "B";
  epoch: number;
  seq: number;
  /** Name of the earlier case whose id is prev, or null for seq 1. */
  prevCase: string | null;
  /** Deps as given to the encoder (unsorted on purpose in one case): hex or "id:<case>". */
  deps: string[];
  body: Uint8Array;
  ts: number;
  nonce: Uint8Array;
}

export interface ControlCase {
  name: string;
  kind: "control";
  author: "A" | "B";
  epoch: number;
  ctype: ControlTypeName;
  payload: (ids: Map<string, Uint8Array>, pks: Record<"A" | "B", Uint8Array>) => Uint8Array;
  ts: number;
  nonce: Uint8Array;
}

export const CASES: Array<EventCase | ControlCase> = [
  {
    name: "event-a-seq1",
    kind: "event",
    author: "A",
    epoch: 0,
    seq: 1,
    prevCase: null,
    deps: [],
    body: utf8.encode('{"type":"genesis","name":"test pursuance"}'),
    ts: FIXED.ts,
    nonce: fill(24, 0xa1),
  },
  {
    name: "event-b-seq1",
    kind: "event",
    author: "B",
    epoch: 0,
    seq: 1,
    prevCase: null,
    deps: ["id:event-a-seq1"],
    body: utf8.encode("hello from B"),
    ts: FIXED.ts + 1000,
    nonce: fill(24, 0xa2),
  },
  {
    name: "event-a-seq2-unsorted-deps",
    kind: "event",
    author: "A",
    epoch: 0,
    seq: 2,
    prevCase: "event-a-seq1",
    // Given unsorted; the encoding sorts them ascending (bytewise).
    deps: [toHex(fill(32, 0xcc)), "id:event-b-seq1", toHex(fill(32, 0x11))],
    body: utf8.encode("second event of A, three deps"),
    ts: FIXED.ts + 2000,
    nonce: fill(24, 0xa3),
  },
  {
    name: "event-b-seq2-empty-body-epoch1",
    kind: "event",
    author: "B",
    epoch: 1,
    seq: 2,
    prevCase: "event-b-seq1",
    deps: ["id:event-a-seq2-unsorted-deps"],
    body: new Uint8Array(0),
    ts: FIXED.ts + 3000,
    nonce: fill(24, 0xa4),
  },
  {
    name: "event-a-seq3-600-byte-body",
    kind: "event",
    author: "A",
    epoch: 1,
    seq: 3,
    prevCase: "event-a-seq2-unsorted-deps",
    deps: ["id:event-b-seq2-empty-body-epoch1"],
    // Large enough to need the 1024-byte bucket.
    body: Uint8Array.from({ length: 600 }, (_, i) => (i * 7) & 0xff),
    ts: FIXED.ts + 4000,
    nonce: fill(24, 0xa5),
  },
  {
    name: "control-heads",
    kind: "control",
    author: "A",
    epoch: 1,
    ctype: "heads",
    payload: (_ids, pks) =>
      encodeHeads({
        heads: [
          { author: toHex(pks.A), seq: 3 },
          { author: toHex(pks.B), seq: 2 },
        ],
      }),
    ts: FIXED.ts + 5000,
    nonce: fill(24, 0xb1),
  },
  {
    name: "control-want",
    kind: "control",
    author: "B",
    epoch: 1,
    ctype: "want",
    payload: (ids, pks) =>
      encodeWant({
        ids: [toHex(ids.get("event-a-seq3-600-byte-body")!)],
        ranges: [{ author: toHex(pks.A), from: 1, to: 2 }],
      }),
    ts: FIXED.ts + 6000,
    nonce: fill(24, 0xb2),
  },
];

const SIG_DOMAIN = utf8.encode("pursuance/msg/v1\0");

export interface VectorFile {
  description: string;
  constants: Record<string, string | number | number[]>;
  identities: Record<string, { seed: string; publicKey: string; secretKey: string }>;
  group: string;
  epochs: Array<{ epoch: number; key: string; tag: string; tagHex: string; encKey: string; ad: string }>;
  cases: Array<Record<string, unknown>>;
}

function epochOut(crypto: Crypto, epoch: number): { keys: EpochKeys; json: VectorFile["epochs"][number] } {
  const key = FIXED.epochKeys[epoch]!;
  const keys = deriveEpochKeys(crypto, epoch, key);
  const tagBytes = crypto.hash(utf8.encode("pursuance/tag/v1"), 16, key);
  return {
    keys,
    json: { epoch, key: toHex(key), tag: keys.tag, tagHex: toHex(tagBytes), encKey: toHex(keys.encKey), ad: toHex(keys.ad) },
  };
}

/** Build the whole vector file with one backend. */
export function buildVectors(crypto: Crypto): VectorFile {
  const ids = new Map<string, Uint8Array>();
  const kp: Record<"A" | "B", SignKeyPair> = { A: crypto.signKeyPair(FIXED.seeds.A), B: crypto.signKeyPair(FIXED.seeds.B) };
  const pks = { A: kp.A.publicKey, B: kp.B.publicKey };
  const epochs = new Map<number, ReturnType<typeof epochOut>>();
  for (const e of Object.keys(FIXED.epochKeys).map(Number)) epochs.set(e, epochOut(crypto, e));
  const resolve = (d: string): Uint8Array => (d.startsWith("id:") ? ids.get(d.slice(3))! : Uint8Array.from(Buffer.from(d, "hex")));

  const cases: VectorFile["cases"] = [];
  for (const c of CASES) {
    const keys = epochs.get(c.epoch)!.keys;
    let msg: SignedEvent | SignedControl;
    let inputs: Record<string, unknown>;
    if (c.kind === "event") {
      const prev = c.prevCase ? ids.get(c.prevCase)! : new Uint8Array(32);
      const deps = c.deps.map(resolve);
      msg = signEvent(
        crypto,
        { group: FIXED.group, epoch: c.epoch, author: pks[c.author], seq: c.seq, prev, ts: c.ts, deps, body: c.body },
        kp[c.author].secretKey,
      );
      ids.set(c.name, msg.id);
      inputs = {
        author: c.author,
        authorPublicKey: toHex(pks[c.author]),
        group: toHex(FIXED.group),
        epoch: c.epoch,
        seq: c.seq,
        prev: toHex(prev),
        ts: c.ts,
        depsGiven: deps.map(toHex),
        body: toHex(c.body),
      };
    } else {
      const payload = c.payload(ids, pks);
      msg = signControl(
        crypto,
        { group: FIXED.group, epoch: c.epoch, author: pks[c.author], ts: c.ts, ctype: c.ctype, payload },
        kp[c.author].secretKey,
      );
      inputs = {
        author: c.author,
        authorPublicKey: toHex(pks[c.author]),
        group: toHex(FIXED.group),
        epoch: c.epoch,
        ts: c.ts,
        ctype: c.ctype,
        payload: toHex(payload),
        payloadText: utf8.decode(payload),
      };
    }
    const unsigned = msg.bytes.subarray(0, msg.bytes.length - 64);
    const padded = pad(msg.bytes);
    const frame = sealFrame(crypto, keys, msg.bytes, c.nonce);
    cases.push({
      name: c.name,
      kind: c.kind,
      inputs,
      nonce: toHex(c.nonce),
      expected: {
        ...(msg.kind === "event" ? { depsSorted: msg.deps.map(toHex) } : {}),
        unsigned: toHex(unsigned),
        signingInput: toHex(concat(SIG_DOMAIN, unsigned)),
        sig: toHex(msg.sig),
        message: toHex(msg.bytes),
        messageLength: msg.bytes.length,
        ...(msg.kind === "event" ? { id: toHex(msg.id) } : {}),
        tag: keys.tag,
        encKey: toHex(keys.encKey),
        paddedLength: padded.length,
        padded: toHex(padded),
        frame: toHex(frame),
        frameLength: frame.length,
      },
    });
  }

  return {
    description:
      "Pursuance group-protocol test vectors (Layer 2). Format: test/vectors/README.md. All hex is lower case; tag is base64url without padding.",
    constants: {
      sigDomain: toHex(SIG_DOMAIN),
      tagInfo: toHex(utf8.encode("pursuance/tag/v1")),
      encInfo: toHex(utf8.encode("pursuance/enc/v1")),
      adDomain: toHex(utf8.encode("pursuance/frame/v1")),
      buckets: [...BUCKETS],
    },
    identities: Object.fromEntries(
      (["A", "B"] as const).map((n) => [n, { seed: toHex(FIXED.seeds[n]), publicKey: toHex(pks[n]), secretKey: toHex(kp[n].secretKey) }]),
    ),
    group: toHex(FIXED.group),
    epochs: [...epochs.values()].map((e) => e.json),
    cases,
  };
}

export function serialise(v: VectorFile): string {
  return JSON.stringify(v, null, 2) + "\n";
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const backend = (process.env.PURSUANCE_CRYPTO as CryptoBackendName | undefined) ?? "libsodium-wrappers";
  const crypto = await loadCrypto(backend);
  const out = join(dirname(fileURLToPath(import.meta.url)), "messages.json");
  const v = buildVectors(crypto);
  writeFileSync(out, serialise(v));
  console.log(`wrote ${v.cases.length} cases to ${out} (backend ${crypto.backend})`);
}
