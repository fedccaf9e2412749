// Replays the published resolution vectors (test/vectors/resolution/*.json,
// written by test/vectors/generate-resolution.ts) the way a second
// implementation would: verified events in, one verdict per event and one state
// hash out, in any causal order and batching.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { deliver, memoVerifyCrypto, quietly, randomCausalOrder, randomChunks, Rng } from "./helpers/history.js";
import type { ResolutionVector } from "./vectors/generate-resolution.js";

const DIR = join(import.meta.dirname, "vectors", "resolution");
const files = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();

let crypto: Crypto;
beforeAll(async () => {
  crypto = memoVerifyCrypto(await loadCrypto());
});

function events(v: ResolutionVector): PEvent[] {
  return v.events.map((e) => {
    const base = { id: e.id, author: e.author, seq: e.seq, ts: e.ts, parents: e.parents };
    return e.body === null ? { ...base, body: null, bodyError: e.bodyError ?? "malformed" } : { ...base, body: parseBody(new TextEncoder().encode(e.body)) };
  });
}

describe("resolution vectors", () => {
  it("are published: the seven attacks and random adversarial histories", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of files) {
    it(`${file}: every order gives every published verdict and the state hash`, () => {
      const v = JSON.parse(readFileSync(join(DIR, file), "utf8")) as ResolutionVector;
      expect(new Set(v.verdicts.map((x) => x.id))).toEqual(new Set(v.events.map((e) => e.id)));
      const evs = events(v);
      const want = new Map(v.verdicts.map((x) => [x.id, x.applied]));
      const rng = new Rng(file.length * 7919);
      for (let i = 0; i < 12; i++) {
        const order = randomCausalOrder(evs, rng);
        const chunks = i % 3 === 0 ? order.map((e) => [e]) : i % 3 === 1 ? randomChunks(order, rng, 5) : [order];
        const { fold } = quietly(() => deliver(crypto, chunks, v.genesis));
        for (const e of evs) expect(fold.verdict(e.id) === null, `${file} order ${i}: ${e.id.slice(0, 12)}`).toBe(want.get(e.id));
        expect(fold.hash(), `${file} order ${i}`).toBe(v.stateHash);
      }
    });
  }
});
