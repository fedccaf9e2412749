// causalOrder (event indices, typed arrays) against a plain reference written
// from its contract in docs/protocol.md: a topological order of citations and
// extra edges, ties to the smaller id; citations of absent events make
// orphans (and what descends from them), extra edges never do; events left on
// an extra-edge cycle are `cyclic`. And toPEvents, which shares one copy of
// each id among a batch, against toPEvent one event at a time.
import { describe, expect, it } from "vitest";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { causalOrder, type ExtraEdges } from "../src/pursuance/order.js";
import { toPEvent, toPEvents } from "../src/pursuance/pevent.js";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { genesisBody, type Actor } from "../src/pursuance/actions.js";
import { KeyRing } from "../src/pursuance/keyring.js";
import { encodeBody } from "../src/pursuance/events.js";
import { signEvent, type SignedEvent } from "../src/cwtch/message.js";
import { toHex } from "../src/cwtch/bytes.js";
import { prng } from "../harness/prng.js";

function reference(events: PEvent[], extra?: ExtraEdges) {
  const byId = new Map<string, PEvent>();
  for (const e of events) byId.set(e.id, e);
  const all = [...byId.values()];
  const preds = new Map<string, Set<string>>();
  for (const e of all) {
    const s = new Set(e.parents);
    for (const p of extra?.get(e.id) ?? []) if (byId.has(p)) s.add(p);
    preds.set(e.id, s);
  }
  const placed = new Set<string>();
  const order: PEvent[] = [];
  for (;;) {
    const ready = all.filter((e) => !placed.has(e.id) && [...preds.get(e.id)!].every((p) => placed.has(p)));
    if (ready.length === 0) break;
    const next = ready.reduce((a, b) => (b.id < a.id ? b : a));
    placed.add(next.id);
    order.push(next);
  }
  const left = all.filter((e) => !placed.has(e.id)).sort((a, b) => (a.id < b.id ? -1 : 1));
  // An orphan cites an absent event, or (by citations) descends from one.
  const orphan = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of left) {
      if (orphan.has(e.id)) continue;
      if (e.parents.some((p) => !byId.has(p) || orphan.has(p))) orphan.add(e.id), (grew = true);
    }
  }
  if (!extra || extra.size === 0) return { order, orphans: left, cyclic: [] as PEvent[] };
  return { order, orphans: left.filter((e) => orphan.has(e.id)), cyclic: left.filter((e) => !orphan.has(e.id)) };
}

const ids = (es: PEvent[]) => es.map((e) => `${e.id}/${e.parents.length}`);

describe("causalOrder", () => {
  it("matches the reference on 2,000 random DAGs with duplicates, repeated parents, absent parents and conflicting extra edges", () => {
    const rnd = prng(0x0dde7);
    const int = (k: number) => Math.floor(rnd() * k);
    for (let t = 0; t < 2000; t++) {
      const n = 1 + int(25);
      const name = (i: number) => `${(int(50) * 100 + i).toString(16).padStart(5, "0")}`;
      const events: PEvent[] = [];
      for (let i = 0; i < n; i++) {
        const parents: string[] = [];
        for (let k = int(4); k > 0; k--) parents.push(rnd() < 0.08 ? `absent${int(3)}` : i > 0 ? events[int(i)]!.id : `absent${int(3)}`);
        if (parents.length > 0 && rnd() < 0.1) parents.push(parents[0]!);
        events.push({ id: name(i), author: "a", seq: i + 1, ts: 0, parents, body: null });
      }
      // A second copy of an id: the last stands, in the first one's place.
      if (rnd() < 0.15) events.push({ ...events[int(n)]!, parents: [] });
      const extra = new Map<string, string[]>();
      if (rnd() < 0.6)
        for (let k = int(6); k > 0; k--) {
          const child = events[int(events.length)]!.id;
          const before = rnd() < 0.1 ? "absent-extra" : events[int(events.length)]!.id;
          extra.set(child, [...(extra.get(child) ?? []), before, ...(rnd() < 0.2 ? [before] : [])]);
        }
      for (const x of [extra, undefined]) {
        const got = causalOrder(events, x);
        const want = reference(events, x);
        expect({ order: ids(got.order), orphans: ids(got.orphans), cyclic: ids(got.cyclic) }, `case ${t}`).toEqual({ order: ids(want.order), orphans: ids(want.orphans), cyclic: ids(want.cyclic) });
      }
    }
  });
});

describe("toPEvents", () => {
  it("gives what toPEvent gives one event at a time, with one string per shared id", async () => {
    const crypto = await loadCrypto();
    const identity = crypto.signKeyPair();
    const actor: Actor = { crypto, identity, me: toHex(identity.publicKey), ring: new KeyRing(crypto, identity) };
    const group = crypto.randomBytes(32);
    const evs: SignedEvent[] = [];
    const body = (i: number) => (i === 0 ? encodeBody(genesisBody(actor, { name: "p", founderName: "f", mission: "m" })) : new TextEncoder().encode(i % 3 === 0 ? "not json" : JSON.stringify({ t: "task.comment", task: toHex(evs[0]!.id), content: { nonce: "x".repeat(32), ct: "y" } })));
    for (let i = 0; i < 6; i++) {
      const prev = evs[i - 1];
      evs.push(signEvent(crypto, { group, epoch: 0, author: identity.publicKey, seq: i + 1, prev: prev ? prev.id : new Uint8Array(32), ts: 1_700_000_000_000 + i, deps: evs.slice(0, i).map((e) => e.id).slice(-2), body: body(i) }, identity.secretKey));
    }
    const batch = toPEvents(evs);
    expect(batch).toEqual(evs.map(toPEvent));
    expect(batch.filter((e) => e.bodyError !== undefined).length).toBeGreaterThan(0);
    expect(batch.filter((e) => e.body?.t === "task.comment").length).toBeGreaterThan(0);
  });
});
