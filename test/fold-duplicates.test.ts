// An event delivered twice — in one batch, or again with later events — is one
// event: a relay (or a copied log file) repeating an entry must not make its
// author look like an equivocator nor change any verdict or the state hash.
import { beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { signEvent, type SignedEvent } from "../src/cwtch/message.js";
import { genesisBody, inviteBody, joinBody, taskCreateBody, type Actor } from "../src/pursuance/actions.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { Fold, foldAll } from "../src/pursuance/fold.js";
import { KeyRing } from "../src/pursuance/keyring.js";
import { exportLog, verifyLog } from "../src/pursuance/log-file.js";
import { toPEvent } from "../src/pursuance/pevent.js";
import type { PursuanceState } from "../src/pursuance/state.js";
import { puppetEquivocation, retroactiveEquivocation } from "./helpers/attacks.js";
import { quietly, randomCausalOrder, randomChunks, reasonOf, Rng } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

describe("Fold: a duplicated event is folded once", () => {
  for (const make of [retroactiveEquivocation, puppetEquivocation]) {
    it(`${make.name}: a duplicate in the same batch or a later one changes nothing, in any order`, () => {
      const sc = make(crypto, 5);
      const { h } = sc;
      const clean = quietly(() => foldAll(h.foldCrypto, [...h.events], h.genesisId));
      for (const [name, want] of Object.entries(sc.expect)) expect([name, reasonOf(clean, want.event) === null]).toEqual([name, want.applied]);
      const rng = new Rng(11);
      for (const dupName of Object.keys(sc.expect)) {
        const dup = sc.expect[dupName]!.event;
        for (let i = 0; i < 4; i++) {
          const order = randomCausalOrder(h.events, rng);
          const fresh = new Fold({ crypto: h.foldCrypto, genesisId: h.genesisId });
          quietly(() => fresh.add([...order, dup]));
          expect([dupName, fresh.hash(), fresh.size]).toEqual([dupName, clean.hash(), clean.size]);
          const live = new Fold({ crypto: h.foldCrypto, genesisId: h.genesisId });
          quietly(() => {
            for (const chunk of randomChunks(order, rng, 5)) live.add([...chunk, dup, ...chunk]);
          });
          expect([dupName, live.hash()]).toEqual([dupName, clean.hash()]);
        }
      }
    });
  }
});

describe("verifyLog: a copy with an entry repeated verifies to the same state", () => {
  it("gives the same state hash, event count and verdicts", () => {
    const group = crypto.randomBytes(32);
    const events: SignedEvent[] = [];
    let genesisId = "";
    let ts = 1_700_000_000_000;
    const member = () => {
      const kp: SignKeyPair = crypto.signKeyPair();
      const a: Actor = { crypto, identity: kp, me: toHex(kp.publicKey), ring: new KeyRing(crypto, kp) };
      return { kp, a, chain: [] as SignedEvent[] };
    };
    type M = ReturnType<typeof member>;
    const now = (): PursuanceState => foldAll(crypto, events.map(toPEvent), genesisId || null).state;
    const tips = () => {
      const cited = new Set<string>();
      for (const e of events) {
        if (e.seq > 1) cited.add(toHex(e.prev));
        for (const d of e.deps) cited.add(toHex(d));
      }
      return events.filter((e) => !cited.has(toHex(e.id)));
    };
    const write = (m: M, body: Body | ((s: PursuanceState) => Body), deps = tips(), atSeq?: number): SignedEvent => {
      const seq = atSeq ?? m.chain.length + 1;
      const prev = seq > 1 ? m.chain[seq - 2]!.id : new Uint8Array(32);
      const b = typeof body === "function" ? body(now()) : body;
      const depIds = deps.filter((d) => toHex(d.id) !== toHex(prev)).map((d) => d.id);
      const e = signEvent(crypto, { group, epoch: 0, author: m.kp.publicKey, seq, prev, ts: (ts += 1000), deps: depIds, body: encodeBody(b) }, m.kp.secretKey);
      events.push(e);
      if (atSeq === undefined) m.chain.push(e);
      return e;
    };
    const F = member();
    const R = member();
    const J = member();
    genesisId = toHex(write(F, genesisBody(F.a, { name: "p", founderName: "F" })).id);
    let seed: Uint8Array = new Uint8Array();
    write(F, (s) => {
      const r = inviteBody(F.a, s, "recruiter");
      seed = r.secret.seed;
      return r.body;
    });
    write(R, joinBody(R.a, genesisId, seed, "R"));
    const old = tips();
    const inv = write(R, (s) => {
      const r = inviteBody(R.a, s, "change agent");
      seed = r.secret.seed;
      return r.body;
    });
    const join = write(J, joinBody(J.a, genesisId, seed, "J"));
    write(F, (s) => taskCreateBody(F.a, s, { text: { title: "F carries on", deliverables: "" }, readers: ["admin"] }));
    // R forks at the invite's seq; nobody builds on the other variant.
    write(R, (s) => inviteBody(R.a, s, "change agent").body, old, inv.seq);

    const file = exportLog(genesisId, toHex(group), events);
    const a = verifyLog(crypto, file);
    expect(a.rejected.find((r) => r.id === toHex(join.id))).toBeUndefined();
    for (const e of [inv, join, events[0]!]) {
      const b = verifyLog(crypto, { ...file, events: [...file.events, toHex(e.bytes)] });
      expect(b.stateHash).toBe(a.stateHash);
      expect(b.events).toBe(a.events);
      expect(b.rejected).toEqual(a.rejected);
      expect(b.invalid).toEqual([]);
    }
  });
});
