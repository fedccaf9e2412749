// Succession when the leader goes silent: votes count only past the silence
// limit (as of each vote's time), the leader speaking lets pending votes
// lapse, a quorum crowns; and the crowned candidate gets the top role's keys
// from the escrow a quorum of voters hands it — while fewer shares give nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { policyBody } from "../src/pursuance/actions-rules.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { escrowBody, escrowStale, recoverEscrow, voteBody } from "../src/pursuance/escrow.js";
import { foldAll } from "../src/pursuance/fold.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { combine, split } from "../src/pursuance/shamir.js";
import { openContentKey, decryptText } from "../src/pursuance/task-crypto.js";
import { converge, expectApplied, expectRejected, History, memoVerifyCrypto, type HMember } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

const DAY = 86_400_000;

function world(seed: number, silentAfterMs?: number) {
  const h = new History(base, seed);
  const F = h.member("founder");
  const A1 = h.member("admin1");
  const A2 = h.member("admin2");
  const A3 = h.member("admin3");
  const C = h.member("agent");
  const rules = defaultRules();
  if (silentAfterMs !== undefined) rules.succession.silentAfterMs = silentAfterMs;
  h.genesis(F, { rules });
  for (const [m, r] of [[A1, "admin"], [A2, "admin"], [A3, "admin"], [C, "change agent"]] as Array<[HMember, string]>) h.addMember(F, m, r);
  return { h, F, A1, A2, A3, C };
}

const log = (h: History) => foldAll(crypto, h.events, h.genesisId).applied;

describe("silence-gated succession votes", () => {
  it("a vote before the limit is rejected with the reason; after it, votes count and a quorum crowns", () => {
    const { h, F, A1, A2, C } = world(1);
    h.advance(13 * DAY);
    const early = h.vote(A1, C);
    h.advance(2 * DAY); // now 15 days after the founder's last event
    const v1 = h.vote(A1, C);
    expect(h.state().leader).toBe(F.hex);
    const v2 = h.vote(A2, C);
    const f = converge(crypto, h, 8);
    expectRejected(f, early, /was heard from 13 d before this vote; succession needs 14 d of silence/);
    expectApplied(f, v1);
    expectApplied(f, v2);
    expect(f.state.leader).toBe(C.hex);
    expect([...f.state.members.get(C.hex)!.roles].sort()).toEqual(["change agent", "primary"]);
    // The new leader's silence counts from its crowning: a vote right after is too early.
    const again = h.vote(A1, A2);
    expectRejected(converge(crypto, h, 4), again, /succession needs 14 d of silence/);
  });

  it("the leader speaking lets pending votes lapse: the quorum must vote again after a new silence", () => {
    const { h, F, A1, A2, C } = world(2);
    h.advance(15 * DAY);
    h.vote(A1, C);
    const alive = h.emit(F, { t: "announce", text: "still here" })!;
    let s = h.state();
    expect(s.votes.size).toBe(0);
    const late = h.vote(A2, C); // one vote now, and F spoke a second ago: rejected, and no quorum
    const f = converge(crypto, h, 6);
    expectApplied(f, alive);
    expectRejected(f, late, /succession needs 14 d/);
    expect(f.state.leader).toBe(F.hex);
    h.advance(15 * DAY);
    h.vote(A2, C);
    s = h.state();
    expect(s.leader).toBe(F.hex); // A1's old vote lapsed: one vote is not a quorum
    h.vote(A1, C);
    expect(h.state().leader).toBe(C.hex);
  });

  it("with no leader (it left), votes need no silence", () => {
    const { h, F, A1, A2, C } = world(3);
    h.emit(F, { t: "leave" });
    h.vote(A1, C);
    h.vote(A2, C);
    expect(h.state().leader).toBe(C.hex);
  });

  it("rules.policy sets the limit; old rules without it decode and use 14 days; a limit under 1 s is malformed", () => {
    const { h, F, A1, A2, C } = world(4);
    const p = h.emit(F, (s) => policyBody(s, { silentAfterMs: 2_000 }))!;
    h.advance(3_000);
    h.vote(A1, C);
    h.vote(A2, C);
    const f = converge(crypto, h, 4);
    expectApplied(f, p);
    expect(f.state.rules.succession).toEqual({ role: "admin", quorum: 2, silentAfterMs: 2_000 });
    expect(f.state.leader).toBe(C.hex);

    const old = { t: "rules.policy", succession: { role: "admin", quorum: 2 } };
    expect(parseBody(new TextEncoder().encode(JSON.stringify(old)))).toEqual(old);
    const bad = { t: "rules.policy", succession: { role: "admin", quorum: 2, silentAfterMs: 999 } };
    expect(() => parseBody(new TextEncoder().encode(JSON.stringify(bad)))).toThrow(/silentAfterMs must be an integer 1000/);
    const { rules } = { rules: defaultRules() };
    delete rules.succession.silentAfterMs;
    const w = new History(base, 5);
    const G = w.member("g");
    w.genesis(G, { rules });
    expect(w.state().rules.succession).toEqual({ role: "admin", quorum: 2 });
  });

  it("a quorum of votes by members with far-future claimed times is the only way to cut the wait short", () => {
    const { h, F, A1, C } = world(6);
    // One admin lying about the time is one vote: no crown.
    const lie = h.emit(A1, { t: "leader.vote", candidate: C.hex }, "tips", { ts: Date.UTC(2100, 0, 1) })!;
    const f = converge(crypto, h, 4);
    expectApplied(f, lie);
    expect(f.state.leader).toBe(F.hex);
  });
});

describe("a leader gaming the clock", () => {
  it("one far-future event by the leader does not block succession; a slightly fast clock still counts as present", () => {
    const { h, F, A1, A2, C } = world(11);
    const t0 = h.state().clock;
    h.emit(F, { t: "announce", text: "my clock is 5 min fast" }, "tips", { ts: t0 + 5 * 60_000 });
    const skewed = h.emit(A1, { t: "leader.vote", candidate: C.hex }, "tips", { ts: t0 + 1000 })!;
    h.emit(F, { t: "announce", text: "I will lead until 2100" }, "tips", { ts: Date.UTC(2100, 0, 1) });
    h.advance(15 * DAY);
    const v1 = h.vote(A1, C);
    const v2 = h.vote(A2, C);
    const f = converge(crypto, h, 6);
    expectRejected(f, skewed, /succession needs 14 d of silence/);
    expectApplied(f, v1);
    expectApplied(f, v2);
    expect(f.state.leader).toBe(C.hex);
  });
});

describe("Shamir over GF(256)", () => {
  it("any threshold of shares gives the secret; fewer do not", () => {
    const secret = base.randomBytes(64);
    const shares = split(secret, 3, [1, 2, 3, 4, 5], (n) => base.randomBytes(n));
    expect(combine([shares[0]!, shares[2]!, shares[4]!])).toEqual(secret);
    expect(combine([shares[3]!, shares[1]!, shares[0]!])).toEqual(secret);
    expect(combine([shares[0]!, shares[1]!])).not.toEqual(secret);
    expect(() => split(secret, 6, [1, 2, 3, 4, 5], (n) => base.randomBytes(n))).toThrow(/threshold/);
    expect(() => combine([shares[0]!, shares[0]!])).toThrow(/same point/);
  });
});

describe("escrow of the top role's keys", () => {
  function escrowed(seed: number) {
    const w = world(seed);
    const { h, F } = w;
    const secretTask = h.task(F, ["primary"], { title: "only the top role reads this" });
    expect(escrowStale(h.state())).toBe(true);
    const esc = h.emit(F, (s) => escrowBody(F.actor, s))!;
    expect(escrowStale(h.state())).toBe(false);
    return { ...w, secretTask, esc };
  }

  it("a quorum's votes carry shares; the crowned candidate recovers every top key and reads the top role's task", () => {
    const { h, A1, A2, C, secretTask, esc } = escrowed(7);
    h.advance(15 * DAY);
    h.emit(A1, (s) => voteBody(A1.actor, s, log(h), C.hex));
    // One share alone recovers nothing (and C is not leader yet anyway).
    expect(recoverEscrow(C.actor, h.state(), log(h))).toEqual([]);
    const v2 = h.emit(A2, (s) => voteBody(A2.actor, s, log(h), C.hex))!;
    expect((v2.body as Extract<Body, { t: "leader.vote" }>).share).toBeDefined();
    const s = h.state();
    expect(s.leader).toBe(C.hex);
    const primary = s.keys.get("primary")!;
    expect(C.ring.get(primary.keyId)).toBeUndefined();
    const learnt = recoverEscrow(C.actor, s, log(h));
    expect(learnt.map((k) => k.keyId)).toEqual(primary.history);
    const t = s.tasks.get(secretTask.id)!;
    const key = openContentKey(crypto, C.ring, C.kp, C.hex, t)!;
    expect(decryptText(crypto, key, t.text)?.title).toBe("only the top role reads this");
    expectApplied(converge(crypto, h, 4), esc);
  });

  it("an admin's share alone opens nothing, and an escrow that leaves out a successor is rejected", () => {
    const { h, F, A1, A3, C } = escrowed(8);
    // A3 alone tries to combine its own share: one of a 2-threshold split.
    h.advance(15 * DAY);
    h.emit(A1, (s) => voteBody(A1.actor, s, log(h), A3.hex));
    expect(recoverEscrow(A3.actor, { ...h.state(), leader: A3.hex }, log(h))).toEqual([]);
    const partial = h.emit(F, (s) => {
      const b = escrowBody(F.actor, s)! as Extract<Body, { t: "rules.policy" }>;
      delete b.escrow!.shares[A3.hex];
      return b;
    })!;
    const wrongScope = h.emit(F, (s) => {
      const b = escrowBody(F.actor, s)! as Extract<Body, { t: "rules.policy" }>;
      b.escrow!.scope = "admin";
      return b;
    })!;
    const byAdmin = h.emit(A1, (s) => ({ ...(escrowBody(F.actor, s) as Body) }))!;
    // A policy change riding with a bad escrow is refused whole: the quorum does not change.
    const mixed = h.emit(F, (s) => ({ ...(escrowBody(F.actor, s) as Extract<Body, { t: "rules.policy" }>), succession: { role: "admin", quorum: 3, silentAfterMs: DAY } }))!;
    const f = converge(crypto, h, 4);
    expectRejected(f, partial, /escrow shares must go to exactly the holders of "admin"/);
    expectRejected(f, wrongScope, /escrow is of the top role "primary"/);
    expectRejected(f, byAdmin, /only the leader/);
    expectRejected(f, mixed, /escrow threshold 2 is not the succession quorum 3/);
    expect(f.state.rules.succession.quorum).toBe(2);
    void C;
  });

  it("a forged share never yields a key: recovery checks every key against its announced id", () => {
    const { h, A1, A2, C } = escrowed(10);
    h.advance(15 * DAY);
    // A1 sends garbage of the right length sealed to C; A2's share is real: the quorum crowns, the keys stay out of reach.
    const n = h.state().escrow!.keyIds.length;
    h.emit(A1, { t: "leader.vote", candidate: C.hex, share: Buffer.from(base.sealTo(Uint8Array.of(7, ...base.randomBytes(32 * n)), C.kp.publicKey)).toString("base64url") });
    h.emit(A2, (s) => voteBody(A2.actor, s, log(h), C.hex));
    expect(h.state().leader).toBe(C.hex);
    expect(recoverEscrow(C.actor, h.state(), log(h))).toEqual([]);
    expect(C.ring.get(h.state().keys.get("primary")!.keyId)).toBeUndefined();
  });

  it("bodies round-trip through the parser", () => {
    const { h, A1, C } = escrowed(9);
    const v = voteBody(A1.actor, h.state(), log(h), C.hex);
    expect(parseBody(encodeBody(v))).toEqual(v);
  });
});
