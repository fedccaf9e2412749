// A later equivocation never undoes honest applied work (docs/protocol.md,
// "Equivocation cuts the equivocator off, not the others"). The equivocator
// re-signs the seq of an event others built on and has puppets (members it
// invited, ranked above the honest witness, or several of them) build only on
// the new variant. Under the rule that kept one variant per seq, chosen by the
// witnesses' rank and then their count, the puppets' variant won and the honest
// member's work on the original was rejected. Each history is delivered in many
// causal orders, one event at a time, in batches and at once: all must agree.
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { commentBody } from "../src/pursuance/actions.js";
import type { Body } from "../src/pursuance/events.js";
import { converge, expectApplied, expectRejected, History, memoVerifyCrypto, taskIn } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = memoVerifyCrypto(await loadCrypto());
});

const ORDERS = 40;

function world(seed: number) {
  const h = new History(crypto, seed);
  const F = h.member("founder");
  const A = h.member("admin");
  const R = h.member("recruiter");
  const C = h.member("agent");
  h.genesis(F);
  h.addMember(F, A, "admin");
  h.addMember(F, R, "recruiter");
  h.addMember(F, C, "change agent");
  return { h, F, A, R, C };
}

describe("a later equivocation never undoes honest applied work", () => {
  it("an admin re-signs its task's seq and a recruiter puppet (above the commenter) builds on the new variant: the change agent's comment stands", () => {
    for (const seed of [131, 231, 331]) {
      const { h, A, C } = world(seed);
      const P = h.member("puppet");
      h.addMember(A, P, "recruiter");
      const before = h.tips();
      const v1 = h.task(A, ["change agent"], { title: "please do X" }, before);
      const cm = h.emit(C, (s) => commentBody(C.actor, taskIn(s, v1.id), "on it"))!;
      expectApplied(h.fold(), cm);
      const v2 = h.emit(A, { t: "announce", text: "nothing to see" }, before, { fork: { seq: v1.seq } })!;
      const pw = h.task(P, ["recruiter"], { title: "witness" }, [v2.id]);
      const f = converge(crypto, h, ORDERS, seed);
      expectApplied(f, v1);
      expectApplied(f, cm);
      // The puppet's variant is a fact too: it witnessed it, and it erases nothing.
      expectApplied(f, v2);
      expectApplied(f, pw);
      expect(taskIn(f.state, v1.id).comments.length).toBe(1);
    }
  });

  it("an admin re-signs the seq of the invite an honest member joined through: the joiner stays, with its task", () => {
    for (const seed of [132, 232, 332]) {
      const { h, A } = world(seed);
      const P = h.member("puppet");
      h.addMember(A, P, "recruiter");
      const J = h.member("joiner");
      const before = h.tips();
      const { event: inv, secret } = h.invite(A, "change agent", before);
      const join = h.join(J, secret);
      const jt = h.task(J, ["change agent"], { title: "my work" });
      expect(h.fold().state.members.has(J.hex)).toBe(true);
      const v2 = h.emit(A, { t: "announce", text: "x" }, before, { fork: { seq: inv.seq } })!;
      h.task(P, ["recruiter"], { title: "witness" }, [v2.id]);
      const f = converge(crypto, h, ORDERS, seed);
      expect(f.state.members.has(J.hex)).toBe(true);
      for (const e of [inv, join, jt]) expectApplied(f, e);
      expect(f.state.tasks.has(jt.id)).toBe(true);
    }
  });

  it("a recruiter with two change-agent puppets (more witnesses than the joiner) cannot expel the change agent it admitted", () => {
    for (const seed of [133, 233, 333]) {
      const { h, R } = world(seed);
      const P1 = h.member("p1");
      const P2 = h.member("p2");
      h.addMember(R, P1, "change agent");
      h.addMember(R, P2, "change agent");
      const J = h.member("joiner");
      const before = h.tips();
      const { event: inv, secret } = h.invite(R, "change agent", before);
      const join = h.join(J, secret);
      const jt = h.task(J, ["change agent"], { title: "my work" });
      const body = { t: "task.create", readers: [], assignee: null, parent: null, due: null, content: h.fakeContent(h.state(), []) } as unknown as Body;
      const v2 = h.emit(R, body, before, { fork: { seq: inv.seq } })!;
      h.task(P1, ["change agent"], { title: "w1" }, [v2.id]);
      h.task(P2, ["change agent"], { title: "w2" }, [v2.id]);
      const f = converge(crypto, h, ORDERS, seed);
      expect(f.state.members.has(J.hex)).toBe(true);
      for (const e of [inv, join, jt]) expectApplied(f, e);
    }
  });

  it("the equivocator is still cut off: its continuations nobody built on, or built on only after seeing both variants, are rejected", () => {
    for (const seed of [134, 234]) {
      const { h, A, C } = world(seed);
      const before = h.tips();
      const v1 = h.task(A, ["change agent"], { title: "please do X" }, before);
      const cm = h.comment(C, v1, "on it");
      const v2 = h.emit(A, { t: "announce", text: "re-signed" }, before, { fork: { seq: v1.seq } })!;
      // A continues on its first branch; nobody builds on that continuation alone.
      const cont = h.emit(A, { t: "announce", text: "carry on" }, [v1.id, cm.id])!;
      // An honest member who has seen both variants cites every head: that does not vouch for either.
      const merged = h.comment(C, v1, "saw both");
      const after = h.emit(A, { t: "announce", text: "after the merge" })!;
      const f = converge(crypto, h, ORDERS, seed);
      expectApplied(f, v1);
      expectApplied(f, cm);
      expectApplied(f, merged);
      for (const e of [v2, cont, after]) expectRejected(f, e, /equivocated/);
    }
  });
  it("two kept variants that conflict (leadership handed to two members): the later in the fold order fails on its own merits, every delivery agrees, and the witnesses' own events stand", () => {
    for (const seed of [135, 235, 335]) {
      const { h, F, A, R } = world(seed);
      const before = h.tips();
      const v1 = h.emit(F, { t: "leader.transfer", to: A.hex }, before)!;
      const a = h.task(A, ["admin"], { title: "as the new leader" });
      const v2 = h.emit(F, { t: "leader.transfer", to: R.hex }, before, { fork: { seq: v1.seq }, grind: 50 })!;
      const r = h.task(R, ["recruiter"], { title: "as the other new leader" }, [v2.id]);
      const f = converge(crypto, h, ORDERS, seed);
      for (const e of [a, r]) expectApplied(f, e);
      const lost = [v1, v2].filter((v) => f.verdict(v.id) !== null);
      expect(lost).toHaveLength(1);
      expectRejected(f, lost[0]!, /only the leader/);
      expect(f.state.leader).toBe(lost[0] === v1 ? R.hex : A.hex);
    }
  });
});
