// Recomputes every published vector with both crypto backends and compares
// byte for byte; also re-encodes each message with a tiny encoder written from
// test/vectors/README.md alone, so the document and the code cannot drift.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { concat, fromHex, toB64, toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type CryptoBackendName } from "../src/cwtch/crypto.js";
import { deriveEpochKeys, openFrame, pad, sealFrame, unpad } from "../src/cwtch/envelope.js";
import { decodeAndVerify, signControl, signEvent, type ControlTypeName } from "../src/cwtch/message.js";
import { decodeHeads, decodeWant } from "../src/cwtch/sync-controls.js";
import { buildVectors, serialise } from "./vectors/generate.js";

const here = dirname(fileURLToPath(import.meta.url));
const jsonText = readFileSync(join(here, "vectors", "messages.json"), "utf8");

interface Epoch {
  epoch: number;
  key: string;
  tag: string;
  tagHex: string;
  encKey: string;
  ad: string;
}
interface Case {
  name: string;
  kind: "event" | "control";
  nonce: string;
  inputs: {
    author: "A" | "B";
    authorPublicKey: string;
    group: string;
    epoch: number;
    ts: number;
    seq?: number;
    prev?: string;
    depsGiven?: string[];
    body?: string;
    ctype?: ControlTypeName;
    payload?: string;
    payloadText?: string;
  };
  expected: {
    depsSorted?: string[];
    unsigned: string;
    signingInput: string;
    sig: string;
    message: string;
    messageLength: number;
    id?: string;
    tag: string;
    encKey: string;
    paddedLength: number;
    padded: string;
    frame: string;
    frameLength: number;
  };
}
interface Vectors {
  constants: { sigDomain: string; tagInfo: string; encInfo: string; adDomain: string; buckets: number[] };
  identities: Record<"A" | "B", { seed: string; publicKey: string; secretKey: string }>;
  group: string;
  epochs: Epoch[];
  cases: Case[];
}
const V = JSON.parse(jsonText) as Vectors;

// --- An encoder written from the README only (no import from message.ts). ---
function be(n: number | bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = BigInt(n);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
function specUnsignedEvent(c: Case, depsSortedHex: string[]): Uint8Array {
  const i = c.inputs;
  const body = fromHex(i.body!);
  return concat(
    Uint8Array.of(0x01, 0x01),
    fromHex(i.group),
    be(i.epoch, 4),
    fromHex(i.authorPublicKey),
    be(i.seq!, 4),
    fromHex(i.prev!),
    be(i.ts, 8),
    be(depsSortedHex.length, 2),
    ...depsSortedHex.map(fromHex),
    be(body.length, 4),
    body,
  );
}
function specUnsignedControl(c: Case): Uint8Array {
  const i = c.inputs;
  const payload = fromHex(i.payload!);
  return concat(
    Uint8Array.of(0x02, 0x01),
    fromHex(i.group),
    be(i.epoch, 4),
    fromHex(i.authorPublicKey),
    be(i.ts, 8),
    Uint8Array.of(i.ctype === "want" ? 0x01 : 0x02),
    be(payload.length, 4),
    payload,
  );
}

describe("vector file", () => {
  it("has the expected shape and fixed inputs", () => {
    expect(V.cases.map((c) => c.name)).toEqual([
      "event-a-seq1",
      "event-b-seq1",
      "event-a-seq2-unsorted-deps",
      "event-b-seq2-empty-body-epoch1",
      "event-a-seq3-600-byte-body",
      "control-heads",
      "control-want",
    ]);
    expect(V.identities.A.seed).toBe("01".repeat(32));
    expect(V.identities.B.seed).toBe("02".repeat(32));
    // Well-known Ed25519 public key of the all-0x01 seed.
    expect(V.identities.A.publicKey).toBe("8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
    expect(V.constants.sigDomain).toBe(toHex(utf8.encode("pursuance/msg/v1\0")));
    expect(V.constants.buckets).toEqual([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
    // Pinned literals: a change here is a wire-format change.
    expect(V.epochs.map((e) => e.tag)).toEqual(["pLi0lQfRFV42hbGmfl0_SA", "gAKgNd2-5VNyDpp_DSY-Jw"]);
    const a1 = V.cases[0]!;
    expect(a1.expected.id).toBe("6ef3075f9079457239a1ff4efbde4ca2d32d4e2871a01c434b3399b4754c2260");
    const a2 = V.cases[2]!;
    expect(a2.inputs.depsGiven!.map((d) => d.slice(0, 2))).toEqual(["cc", "a6", "11"]);
    expect(a2.expected.depsSorted!.map((d) => d.slice(0, 2))).toEqual(["11", "a6", "cc"]);
    expect(a2.inputs.prev).toBe(a1.expected.id);
    expect(V.cases[3]!.inputs.body).toBe("");
    expect(V.cases[4]!.expected.paddedLength).toBe(1024);
    expect(V.cases.filter((c) => c.name !== "event-a-seq3-600-byte-body").every((c) => c.expected.paddedLength === 512)).toBe(true);
  });
});

describe.each<CryptoBackendName>(["libsodium-wrappers", "sodium-native"])("vectors with %s", (backend) => {
  let crypto: Crypto;
  beforeAll(async () => {
    crypto = await loadCrypto(backend);
    expect(crypto.backend).toBe(backend);
  });

  it("the generator reproduces messages.json byte for byte", () => {
    expect(serialise(buildVectors(crypto))).toBe(jsonText);
  });

  it("identities derive from the seeds", () => {
    for (const n of ["A", "B"] as const) {
      const kp = crypto.signKeyPair(fromHex(V.identities[n].seed));
      expect(toHex(kp.publicKey)).toBe(V.identities[n].publicKey);
      expect(toHex(kp.secretKey)).toBe(V.identities[n].secretKey);
    }
  });

  it("epoch keys: tag, encKey, AD", () => {
    for (const e of V.epochs) {
      const k = deriveEpochKeys(crypto, e.epoch, fromHex(e.key));
      const tagBytes = crypto.hash(fromHex(V.constants.tagInfo), 16, fromHex(e.key));
      expect(toHex(tagBytes)).toBe(e.tagHex);
      expect(toB64(tagBytes)).toBe(e.tag);
      expect(k.tag).toBe(e.tag);
      expect(k.tag).toHaveLength(22);
      expect(toHex(k.encKey)).toBe(e.encKey);
      expect(toHex(crypto.hash(fromHex(V.constants.encInfo), 32, fromHex(e.key)))).toBe(e.encKey);
      expect(toHex(k.ad)).toBe(V.constants.adDomain + e.tagHex);
    }
  });

  describe.each(V.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const epoch = () => V.epochs.find((e) => e.epoch === c.inputs.epoch)!;
    const secret = () => fromHex(V.identities[c.inputs.author].secretKey);

    it("encodes and signs to the published bytes", () => {
      const i = c.inputs;
      const msg =
        c.kind === "event"
          ? signEvent(
              crypto,
              {
                group: fromHex(i.group),
                epoch: i.epoch,
                author: fromHex(i.authorPublicKey),
                seq: i.seq!,
                prev: fromHex(i.prev!),
                ts: i.ts,
                deps: i.depsGiven!.map(fromHex),
                body: fromHex(i.body!),
              },
              secret(),
            )
          : signControl(
              crypto,
              { group: fromHex(i.group), epoch: i.epoch, author: fromHex(i.authorPublicKey), ts: i.ts, ctype: i.ctype!, payload: fromHex(i.payload!) },
              secret(),
            );
      expect(toHex(msg.bytes)).toBe(c.expected.message);
      expect(msg.bytes.length).toBe(c.expected.messageLength);
      expect(toHex(msg.sig)).toBe(c.expected.sig);
      expect(toHex(msg.bytes.subarray(0, msg.bytes.length - 64))).toBe(c.expected.unsigned);
      if (msg.kind === "event") {
        expect(toHex(msg.id)).toBe(c.expected.id);
        expect(toHex(crypto.hash(msg.bytes, 32))).toBe(c.expected.id);
        expect(msg.deps.map(toHex)).toEqual(c.expected.depsSorted);
      }
    });

    it("matches the README layout (independent encoder) and signature definition", () => {
      const unsigned = c.kind === "event" ? specUnsignedEvent(c, c.expected.depsSorted!) : specUnsignedControl(c);
      expect(toHex(unsigned)).toBe(c.expected.unsigned);
      const signingInput = concat(fromHex(V.constants.sigDomain), unsigned);
      expect(toHex(signingInput)).toBe(c.expected.signingInput);
      expect(toHex(crypto.sign(signingInput, secret()))).toBe(c.expected.sig);
      expect(crypto.verify(fromHex(c.expected.sig), signingInput, fromHex(c.inputs.authorPublicKey))).toBe(true);
      expect(c.expected.message).toBe(c.expected.unsigned + c.expected.sig);
      if (c.kind === "event") {
        const sorted = [...c.inputs.depsGiven!].sort();
        expect(c.expected.depsSorted).toEqual(sorted);
      }
    });

    it("pads and seals to the published frame", () => {
      const msg = fromHex(c.expected.message);
      const padded = pad(msg);
      expect(padded.length).toBe(c.expected.paddedLength);
      expect(toHex(padded)).toBe(c.expected.padded);
      // Spec: u32 BE length ‖ message ‖ zeros.
      expect(toHex(padded.subarray(0, 4))).toBe(toHex(be(msg.length, 4)));
      expect(padded.subarray(4 + msg.length).every((b) => b === 0)).toBe(true);
      const keys = deriveEpochKeys(crypto, c.inputs.epoch, fromHex(epoch().key));
      expect(keys.tag).toBe(c.expected.tag);
      expect(toHex(keys.encKey)).toBe(c.expected.encKey);
      const frame = sealFrame(crypto, keys, msg, fromHex(c.nonce));
      expect(toHex(frame)).toBe(c.expected.frame);
      expect(frame.length).toBe(c.expected.frameLength);
      expect(frame.length).toBe(24 + c.expected.paddedLength + 16);
      // The frame is nonce ‖ AEAD(padded) with AD = domain ‖ tagBytes.
      const raw = crypto.aeadDecrypt(frame.subarray(24), fromHex(epoch().ad), fromHex(c.nonce), fromHex(epoch().encKey));
      expect(raw && toHex(raw)).toBe(c.expected.padded);
    });

    it("decodes the frame back to the inputs", () => {
      const keys = deriveEpochKeys(crypto, c.inputs.epoch, fromHex(epoch().key));
      const plain = openFrame(crypto, keys, fromHex(c.expected.frame));
      expect(plain).not.toBeNull();
      expect(toHex(plain!)).toBe(c.expected.message);
      expect(toHex(unpad(fromHex(c.expected.padded))!)).toBe(c.expected.message);
      const m = decodeAndVerify(crypto, plain!);
      expect(m).not.toBeNull();
      const i = c.inputs;
      expect(m!.kind).toBe(c.kind);
      expect(toHex(m!.group)).toBe(i.group);
      expect(m!.epoch).toBe(i.epoch);
      expect(toHex(m!.author)).toBe(i.authorPublicKey);
      expect(m!.ts).toBe(i.ts);
      expect(toHex(m!.sig)).toBe(c.expected.sig);
      if (m!.kind === "event") {
        expect(m!.seq).toBe(i.seq);
        expect(toHex(m!.prev)).toBe(i.prev);
        expect(m!.deps.map(toHex)).toEqual(c.expected.depsSorted);
        expect(toHex(m!.body)).toBe(i.body);
        expect(toHex(m!.id)).toBe(c.expected.id);
      } else {
        expect(m!.ctype).toBe(i.ctype);
        expect(toHex(m!.payload)).toBe(i.payload);
        expect(utf8.decode(m!.payload)).toBe(i.payloadText);
        if (m!.ctype === "heads") {
          expect(decodeHeads(m!.payload).heads).toEqual([
            { author: V.identities.A.publicKey, seq: 3 },
            { author: V.identities.B.publicKey, seq: 2 },
          ]);
        } else {
          expect(decodeWant(m!.payload)).toEqual({
            ids: [V.cases[4]!.expected.id],
            ranges: [{ author: V.identities.A.publicKey, from: 1, to: 2 }],
          });
        }
      }
      // The other epoch's keys open nothing.
      const other = V.epochs.find((e) => e.epoch !== c.inputs.epoch)!;
      expect(openFrame(crypto, deriveEpochKeys(crypto, other.epoch, fromHex(other.key)), fromHex(c.expected.frame))).toBeNull();
    });
  });
});
