// No signed event can stop a fold. Names from events that collide with
// Object.prototype members ("constructor", "__proto__", ...) behave as any
// unknown name; numbers at the edge of what JavaScript dates hold are refused
// by the decoder; and an unexpected exception while judging or applying one
// event rejects that event ("internal error: ...") with the state as it was
// before it, and folding goes on (docs/protocol.md, "A fold never stops").
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { commentBody, inviteBody, joinBody, taskCreateBody, type InviteSecret } from "../src/pursuance/actions.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { encodeBody, MAX_TS as DECODER_MAX_TS, type Body } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { Fold, foldAll } from "../src/pursuance/fold.js";
import { toPEvent } from "../src/pursuance/pevent.js";
import { converge, deliver, expectApplied, expectRejected, ladder, memoVerifyCrypto, quietly, randomCausalOrder, Rng, taskIn, History } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

/** Founder, admin, recruiter, change agent, seedling. */
function world(seed: number) {
  return ladder(base, seed, { A: ["admin", "admin"], R: ["recruiter", "recruiter"], C: ["agent", "change agent"], S: ["seedling", "seedling"] });
}

/** A fresh client's fold of the log (what `PursuanceClient.open` does): it must not throw. */
function fresh(h: History): Fold {
  return quietly(() => foldAll(crypto, h.events, h.genesisId));
}

/** The decoder's bound on every timestamp (events.ts MAX_TS): 2^47 ms, about the year 6429. */
const MAX_TS = 2 ** 47;

const PROTO_NAMES = ["constructor", "__proto__", "tostring", "hasownproperty", "valueof", "prototype", "isprototypeof"];

describe("names that are Object.prototype members", () => {
  for (const who of ["seedling", "outsider", "admin"] as const) {
    it(`a ${who}'s role.amend of "constructor" is refused as an unknown role, and the fold goes on`, () => {
      const { h, A, S } = world(81);
      const author = who === "seedling" ? S : who === "admin" ? A : h.member("outsider");
      const bad = h.emit(author, { t: "role.amend", role: "constructor", def: { rank: 0, caps: [], reads: "role" } })!;
      const after = h.task(A, ["admin"], { title: "still folding" });
      const f = fresh(h);
      expectRejected(f, bad, who === "admin" ? /no role named "constructor"/ : /is not a member|lacks capability/);
      expectApplied(f, after);
      converge(crypto, h, 6, 81);
    });
  }

  it("role.delete, role.grant, role.revoke, invite and delegation of prototype names are refused as unknown roles", () => {
    const { h, F, S } = world(82);
    const bad: PEvent[] = [];
    for (const role of ["constructor", "tostring", "valueof"]) {
      bad.push(h.emit(F, { t: "role.delete", role })!);
      bad.push(h.emit(F, { t: "role.grant", member: S.hex, role, keys: [] })!);
      bad.push(h.emit(F, { t: "role.revoke", member: S.hex, role })!);
      bad.push(h.emit(F, (s) => ({ ...inviteBody(F.actor, s, "admin").body, role }) as Body)!);
      bad.push(h.emit(F, { t: "keys.delegate", role, to: h.rng.hex(32), keys: [] } as unknown as Body)!);
    }
    const f = fresh(h);
    for (const e of bad) if (e.body) expectRejected(f, e, /no role named|unknown|has no key|malformed/);
    converge(crypto, h, 6, 82);
  });

  it("a task assigned to role \"constructor\" is refused; the founder may create a role of that name like any other", () => {
    const { h, F, C } = world(83);
    const t = h.emit(C, (s) => taskCreateBody(C.actor, s, { text: { title: "x", deliverables: "" }, readers: ["change agent"], assignee: { role: "constructor" } }))!;
    const made = h.emit(F, { t: "role.create", role: "constructor", def: { rank: 30, caps: ["task.comment"], reads: "assigned" } })!;
    const amended = h.emit(F, { t: "role.amend", role: "constructor", def: { rank: 25, caps: [], reads: "assigned" } })!;
    const f = fresh(h);
    expectRejected(f, t, /no role named "constructor"/);
    expectApplied(f, made);
    expectApplied(f, amended);
    expect(f.state.rules.roles["constructor"]).toEqual({ rank: 25, caps: [], reads: "assigned" });
    converge(crypto, h, 6, 83);
  });
});

describe("timestamps and numbers at the edge", () => {
  it("an invite expiring past what a date can hold is refused by the decoder; the fold goes on", () => {
    const { h, R, A } = world(71);
    const inv = h.emit(R, (s) => inviteBody(R.actor, s, "change agent", { expires: 8_700_000_000_000_000 }).body, "tips")!;
    expect(inv.body).toBeNull();
    expect(inv.bodyError).toMatch(/expires/);
    const after = h.task(A, ["admin"], { title: "still folding" });
    const f = fresh(h);
    expectRejected(f, inv, /malformed body: expires/);
    expectApplied(f, after);
  });

  it("an event whose envelope ts is past MAX_TS is refused with a clear reason, whatever its body", () => {
    const { h, R, A } = world(72);
    const inv = h.emit(R, (s) => inviteBody(R.actor, s, "change agent", { expires: MAX_TS }).body, "tips", { ts: 9_000_000_000_000_000 })!;
    const after = h.task(A, ["admin"], { title: "still folding" });
    expect(DECODER_MAX_TS).toBe(MAX_TS);
    const f = fresh(h);
    expectRejected(f, inv, /ts .* out of range/);
    expectApplied(f, after);
    // The same bound at the edge where a received event becomes a PEvent.
    const far = toPEvent({ kind: "event", id: new Uint8Array(32), author: new Uint8Array(32), seq: 1, prev: new Uint8Array(32), ts: MAX_TS + 1, deps: [], body: encodeBody({ t: "leave" }) } as never);
    expect(far.body).toBeNull();
    expect(far.bodyError).toMatch(/ts .* out of range/);
  });

  it("a join dated past an invite's (far but valid) expiry is refused, and formatting the reason cannot throw", () => {
    const { h, R } = world(73);
    let secret: InviteSecret | null = null;
    const inv = h.emit(R, (s) => {
      const r = inviteBody(R.actor, s, "change agent", { expires: MAX_TS - 1 });
      secret = r.secret;
      return r.body;
    })!;
    const J = h.member("j");
    const join = h.emit(J, joinBody(J.actor, h.genesisId!, secret!.seed, "j"), [inv], { ts: MAX_TS })!;
    const f = fresh(h);
    expectApplied(f, inv);
    expectRejected(f, join, /invite expired at/);
  });
});

describe("an unexpected exception rejects one event, never the fold", () => {
  it("a reducer that throws a plain Error yields 'internal error: ...' for that event alone, the same in every delivery", () => {
    const { h, F, A } = world(91);
    const { event: inv, secret } = h.invite(F, "change agent");
    const J = h.member("victim");
    const join = h.join(J, secret, [inv]);
    const after = h.task(A, ["admin"], { title: "after" });
    // A crypto whose verify blows up on this one join's proof: an internal fault, not a refusal.
    const proof = (join.body as Extract<Body, { t: "join" }>).proof;
    const faulty: Crypto = Object.create(crypto, {
      verify: {
        value: (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array) => {
          if (Buffer.from(sig).toString("hex") === proof) throw new TypeError("boom");
          return crypto.verify(sig, msg, pk);
        },
      },
    });
    const ref = quietly(() => foldAll(faulty, h.events, h.genesisId));
    expectRejected(ref, join, /^internal error: boom$/);
    expect(ref.state.members.has(J.hex)).toBe(false);
    expectApplied(ref, after);
    const rng = new Rng(91);
    for (let i = 0; i < 8; i++) {
      const order = randomCausalOrder(h.events, rng);
      const { fold } = deliver(faulty, i % 2 === 0 ? order.map((e) => [e]) : [order], h.genesisId);
      expect(fold.hash(), `delivery ${i}`).toBe(ref.hash());
      expect(fold.state.rejected).toEqual(ref.state.rejected);
    }
    // The dry run says the same instead of throwing.
    const dry = new Fold({ crypto: faulty, genesisId: h.genesisId });
    quietly(() => dry.add(h.events.filter((e) => e.id !== join.id && e.id !== after.id)));
    expect(dry.check(join)).toBe("internal error: boom");
  });
});

describe("fuzz: hostile bodies between honest events", () => {
  const EXTREME = [0, -1, 1e300, -1e300, Number.MAX_SAFE_INTEGER, 2 ** 53, 8.7e15, 1.5, NaN, Infinity, "7", null, {}, []];

  /** A body that may or may not parse: real types with hostile fields. */
  function junk(rng: Rng, task: string, member: string): unknown {
    const name = rng.pick(PROTO_NAMES);
    const n = rng.pick(EXTREME);
    const roleDef = { rank: rng.chance(0.3) ? n : 0, caps: rng.chance(0.2) ? [name] : [], reads: rng.chance(0.8) ? "role" : name };
    const wrapsOf = () => ({ [name]: { keyId: "0".repeat(32), wrapped: "AA" } });
    const options: unknown[] = [
      { t: "role.amend", role: name, def: roleDef },
      { t: "role.create", role: name, def: roleDef },
      { t: "role.delete", role: name },
      { t: "role.grant", member, role: name, keys: [] },
      { t: "role.revoke", member, role: name },
      { t: "invite", invite: "ab".repeat(32), role: name, expires: n },
      { t: "invite", invite: "cd".repeat(32), role: "seedling", expires: n },
      { t: "task.assign", task, assignee: { role: name } },
      { t: "task.assign", task, assignee: { member: name } },
      { t: "task.create", readers: [name], assignee: { role: name }, parent: null, due: null, content: { nonce: "AA", ct: "AA", wraps: wrapsOf(), members: { [name]: "AA" } } },
      { t: "task.update", task, status: name, due: n },
      { t: "keys.rotate", scope: name, keyId: "1".repeat(32), sealed: { [name]: "AA" } },
      { t: "keys.delegate", role: name, to: member, keys: [] },
      { t: "requests.set", open: true, seed: "AA", limit: n },
      { t: "request.pending", requester: member, name, message: "", ts: n, sig: "0".repeat(128) },
      { t: "rules.policy", succession: { role: name, quorum: n, silentAfterMs: n } },
      { t: "leader.vote", candidate: member },
      { t: name },
      { t: "link.offer", link: "ab".repeat(16), seed: "AA", roles: [name] },
    ];
    return rng.pick(options);
  }

  it("random hostile bodies from a seedling, a recruiter, an outsider and a removed member never throw and never change an honest event's verdict", () => {
    const rng = new Rng(2026);
    let parsedTotal = 0;
    for (let round = 0; round < 6; round++) {
      const { h, F, A, R, S } = world(300 + round);
      const gone = h.member("gone");
      h.addMember(F, gone, "change agent");
      h.remove(F, gone);
      const X = h.member("outsider");
      const honest: PEvent[] = [];
      const hostile: PEvent[] = [];
      const t0 = h.task(F, ["admin"], { title: "t0" });
      for (let i = 0; i < 60; i++) {
        if (rng.chance(0.4)) {
          honest.push(rng.chance(0.5) ? h.task(A, ["admin"], { title: `t${i}` }) : h.emit(F, (s) => commentBody(F.actor, taskIn(s, t0.id), `c${i}`))!);
          continue;
        }
        const who = rng.pick([S, R, X, gone]);
        const body = junk(rng, t0.id, rng.pick([F.hex, S.hex, A.hex]));
        const ts = rng.chance(0.2) ? rng.pick([0, 2 ** 53 - 1, MAX_TS + 1]) : undefined;
        let parsed: Body | null = null;
        try {
          parsed = parseBody(new TextEncoder().encode(JSON.stringify(body)));
        } catch {
          hostile.push(h.emitMalformed(who));
          continue;
        }
        hostile.push(h.emit(who, parsed, "tips", ts !== undefined ? { ts } : {})!);
      }
      const all = fresh(h);
      parsedTotal += hostile.filter((e) => e.body !== null).length;
      // The honest verdicts, as if the hostile events had never been written.
      const hostileIds = new Set(hostile.map((e) => e.id));
      const clean = quietly(() => foldAll(crypto, h.events.filter((e) => !hostileIds.has(e.id)).map((e) => ({ ...e, parents: e.parents.filter((p) => !hostileIds.has(p)) })), h.genesisId));
      for (const e of honest) expect(all.verdict(e.id), `honest ${e.body?.t}`).toBe(clean.verdict(e.id));
      for (const e of hostile) if (e.author !== S.hex && e.author !== R.hex) expect(all.verdict(e.id), `hostile ${e.body?.t ?? "malformed"}`).not.toBeNull();
      const orders = new Rng(round);
      for (let i = 0; i < 3; i++) {
        const order = randomCausalOrder(h.events, orders);
        expect(deliver(crypto, i === 0 ? order.map((e) => [e]) : [order], h.genesisId).fold.hash()).toBe(all.hash());
      }
    }
    expect(parsedTotal, "hostile bodies that parse (the rest are malformed)").toBeGreaterThan(30);
  });
});
