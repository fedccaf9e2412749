// One state on every client in every arrival order. A role.amend or
// role.delete concurrent with a grant of that role, and a recruiter's invite
// concurrent with an amend that takes member.invite away, once gave different
// states depending only on arrival order (a cache in the fold kept a set
// computed from one order's targets). Then the exhaustive order checker
// (harness/order-histories.ts): every small history of authority events by
// four ranks, in every causal shape, every arrival order and batching, into a
// long-lived fold, against a fresh fold. The bigger run is
// `npm run bench -- --only orders`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { foldAll, type Fold } from "../src/pursuance/fold.js";
import { act, checkArrivals, orderWorld, runOrderCheck, type OrderHistory, type Shape } from "../harness/order-histories.js";
import { memoVerifyCrypto, quietly } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

const AMEND = "F amends recruiter (no member.invite)";

/** The world of harness/order-histories.ts (seed 1: ids under which the old fold diverged), then these events. */
function history(steps: Array<[string, Shape]>, seed = 1): OrderHistory {
  let x: OrderHistory | null = quietly(() => orderWorld(base, seed));
  for (const [a, s] of steps) {
    x = x && quietly(() => act(x!, a, s));
    if (!x) throw new Error(`${a} @${s}: its author would not act`);
  }
  return x!;
}

const verdictOf = (f: Fold, id: string) => f.applied.find((a) => a.event.id === id)?.rejected;

function oneState(x: OrderHistory, inspect?: (f: Fold, arrival: string) => void): Fold {
  const c = checkArrivals(crypto, x, Infinity, inspect);
  expect(c.divergences.map((d) => `${d.arrival}: ${d.got.hash.slice(0, 12)} != ${d.want.hash.slice(0, 12)}`)).toEqual([]);
  return quietly(() => foldAll(crypto, [...x.base, ...x.tail]));
}

describe("a role change concurrent with a grant of that role: one state in every arrival order", () => {
  it("amend vs grant: the grantee's act with the power the amend takes away is refused everywhere", () => {
    // A grants S recruiter; S invites with it; F, not having seen either, takes member.invite from recruiter.
    const x = history([["A grants S recruiter", "tips"], ["S invites", "last"], [AMEND, "base"]]);
    const [grant, inv, amend] = x.tail as [typeof x.tail[0], typeof x.tail[0], typeof x.tail[0]];
    const f = oneState(x);
    expect(verdictOf(f, amend.id)).toBeNull();
    expect(verdictOf(f, grant.id)).toBeNull();
    expect(verdictOf(f, inv.id)).toMatch(/lacks capability member.invite/);
    expect(f.state.members.get(x.cast.S.hex)!.roles.has("recruiter")).toBe(true);
  });

  it("amend vs grant: a holder's concurrent invite is refused everywhere", () => {
    const x = history([["A grants S recruiter", "tips"], [AMEND, "base"], ["R invites", "base"]]);
    const f = oneState(x);
    expect(verdictOf(f, x.tail[2]!.id)).toMatch(/lacks capability member.invite/);
  });

  it("delete vs grant: the grant of a role deleted concurrently is refused everywhere, and so is what it would allow", () => {
    const x = history([["A grants S recruiter", "tips"], ["S invites", "last"], ["F deletes recruiter", "base"]]);
    const [grant, inv, del] = x.tail as [typeof x.tail[0], typeof x.tail[0], typeof x.tail[0]];
    const f = oneState(x);
    expect(verdictOf(f, del.id)).toBeNull();
    expect(verdictOf(f, grant.id)).toMatch(/no role named "recruiter"/);
    expect(verdictOf(f, inv.id)).not.toBeNull();
    expect(f.state.rules.roles.recruiter).toBeUndefined();
  });

  it("delete vs grant: a holder's concurrent invite is refused everywhere", () => {
    const x = history([["A grants S recruiter", "tips"], ["F deletes recruiter", "base"], ["R invites", "base"]]);
    const f = oneState(x);
    expect(verdictOf(f, x.tail[2]!.id)).not.toBeNull();
  });

  it("invite vs amend taking member.invite away: refused on every client, and the invitee gets no key anywhere", () => {
    // R invites N; N joins; F, concurrently, takes member.invite from recruiter (and A grants S recruiter, which moved the old fold).
    const x = history([["A grants S recruiter", "tips"], [AMEND, "base"], ["R invites", "base"], ["N joins", "last"]]);
    const inv = x.tail[2]!;
    const join = x.tail[3]!;
    const N = x.cast.N.hex;
    let checked = 0;
    const f = oneState(x, (g, arrival) => {
      checked++;
      expect(verdictOf(g, inv.id) ?? "applied", arrival).toMatch(/lacks capability member.invite/);
      expect(verdictOf(g, join.id) ?? "applied", arrival).toMatch(/unknown invite/);
      expect(g.state.members.has(N), arrival).toBe(false);
      for (const [scope, k] of g.state.keys) expect(k.holders.has(N), `${arrival}: ${scope} key`).toBe(false);
    });
    expect(checked).toBe(75);
    expect(f.state.members.has(N)).toBe(false);
  });
});

/** The slice `npm test` runs: every history of up to 3 events (about 17,000, some 215,000 arrivals; a minute or two on one core). */
const SLICE = { maxEvents: 3 };
let counts: Record<string, unknown> = {};

describe("the exhaustive order checker", () => {
  it("every history of up to 3 events (every action, every shape): every arrival and batching gives the fresh fold's state", () => {
    const r = runOrderCheck(crypto, SLICE);
    counts = { histories: r.histories, orders: r.orders, byLength: r.byLength, seconds: Math.round(r.seconds) };
    expect(r.divergences.map((d) => `${d.history} ${d.arrival}`)).toEqual([]);
    expect(r.byLength[3]!.histories).toBeGreaterThan(15_000);
    expect(r.orders).toBeGreaterThan(200_000);
  }, 1_200_000);
});

afterAll(() => {
  console.log(`fold-orders: ${JSON.stringify(counts)}`);
});
