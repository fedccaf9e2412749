// Generates test/vectors/resolution/*.json: adversarial histories as verified
// events (after signature checks: ids are given, not derived) with the verdict
// of every event and the state hash, for a second implementation to replay in
// any causal order. Scenarios: the insider attacks of test/helpers/attacks.ts
// and a few random honest+malicious histories. test/resolution-vectors.test.ts
// replays the committed files.
//
//   npx tsx test/vectors/generate-resolution.ts
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCrypto } from "../../src/cwtch/crypto.js";
import { encodeBody } from "../../src/pursuance/events.js";
import { foldAll } from "../../src/pursuance/fold.js";
import { SCENARIOS } from "../helpers/attacks.js";
import { quietly, randomHistory, type History } from "../helpers/history.js";

export interface ResolutionVector {
  name: string;
  description: string;
  genesis: string;
  /** In creation order; `body` is the event body's wire bytes as UTF-8 JSON text, null when it did not parse. */
  events: Array<{ id: string; author: string; seq: number; ts: number; parents: string[]; body: string | null; bodyError?: string }>;
  /**
   * In fold order: applied or rejected, with this implementation's reason. The verdicts are the
   * normative part; the state hash also covers the reasons' wording (state.rejected), so a second
   * implementation matches it only by reproducing them.
   */
  verdicts: Array<{ id: string; applied: boolean; reason: string | null }>;
  stateHash: string;
}

async function main(): Promise<void> {
  const crypto = await loadCrypto();
  const out = join(dirname(fileURLToPath(import.meta.url)), "resolution");
  mkdirSync(out, { recursive: true });
  const write = (name: string, description: string, h: History) => {
    const f = quietly(() => foldAll(crypto, h.events, h.genesisId));
    const v: ResolutionVector = {
      name,
      description,
      genesis: h.genesisId!,
      events: h.events.map((e) => ({ id: e.id, author: e.author, seq: e.seq, ts: e.ts, parents: e.parents, body: e.body ? new TextDecoder().decode(encodeBody(e.body)) : null, ...(e.body ? {} : { bodyError: e.bodyError ?? "malformed" }) })),
      verdicts: f.applied.map((a) => ({ id: a.event.id, applied: a.rejected === null, reason: a.rejected })),
      stateHash: f.hash(),
    };
    writeFileSync(join(out, `${name}.json`), `${JSON.stringify(v, null, 1)}\n`);
    console.log(`${name}: ${v.events.length} events, ${v.verdicts.filter((x) => !x.applied).length} rejected`);
  };
  for (const build of SCENARIOS) {
    const sc = build(crypto, 1);
    write(sc.name, sc.description, sc.h);
  }
  for (const seed of [101, 202, 303]) {
    const { h } = randomHistory(crypto, seed, 70);
    write(`random-${seed}`, "A random history mixing honest and malicious writers, concurrent branches and an equivocation (test/helpers/history.ts randomHistory).", h);
  }
}

await main();
