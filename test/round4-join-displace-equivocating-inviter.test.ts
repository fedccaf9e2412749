// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 1: the round-2 attack under the round-4 rules. Recruiter R invites X, welcomes X (seq n+1), then re-signs
// seq n+1 as a comment built on a rival join it signed with the kept seed; two change-agent puppets build on it too.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { commentBody, taskCreateBody } from "../src/pursuance/actions.js";
import { SB, id } from "./helpers/signed-lib.js";

describe("equivocating inviter + puppets", () => {
  it("X un-membered", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const F = h.member("founder"), R = h.member("rec"), X = h.member("xavier"), T = h.member("rkey");
    const P = [h.member("pone"), h.member("ptwo")];
    const C = h.member("honestc");
    h.genesis(F);
    { const i = h.invite(F, "recruiter"); h.join(R, i.secret); h.share(F, R); }
    { const i = h.invite(F, "change agent"); h.join(C, i.secret); h.share(F, C); }
    for (const p of P) { const i = h.invite(R, "change agent"); h.join(p, i.secret); h.share(R, p); }
    const task = h.emit(R, (s) => taskCreateBody(R.actor, s, { text: { title: "t", deliverables: "d" }, readers: ["change agent"], assignee: null }));
    const pre = h.tips();
    const iX = h.invite(R, "change agent");
    const n = R.chain.length + 1;
    const J = h.join(X, iX.secret, [id(iX.ev)]);
    const S = h.share(R, X, [id(J)]);
    const xw = h.emit(X, (s) => commentBody(X.actor, s.tasks.get(id(task))!, "my work"), [id(S)]);
    // An honest change agent builds on X's admission too.
    const cw = h.emit(C, (s) => commentBody(C.actor, s.tasks.get(id(task))!, "welcome X"), [id(S), id(xw)]);
    const honest = h.fold();
    expect(honest.verdict(id(xw))).toBeNull();
    const J2 = h.join(T, iX.secret, [id(iX.ev)]);
    const S2 = h.emit(R, (s) => commentBody(R.actor, s.tasks.get(id(task))!, "welcome T"), [id(J2)], { forkAt: n });
    for (const p of P) h.emit(p, (s) => commentBody(p.actor, s.tasks.get(id(task))!, "welcome T"), [id(J2), id(S2), ...pre]);
    const f = h.fold();
    const inc = h.fold(h.all().filter((e) => honest.has(e.id)));
    inc.add(h.all().filter((e) => !honest.has(e.id)));
    expect(inc.hash()).toBe(f.hash());
    expect(f.verdict(id(cw))).toBeNull();
    expect(f.state.members.has(X.hex)).toBe(true);
    expect(f.verdict(id(xw))).toBeNull();
  });
});
