// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 1, no insider at all. Score (rank of the highest witness) is read from the judging fold, where other
// contests are not judged and fall to id order; only vouches are checked against the whole fold.
// Two strangers with two used tokens from a chat log: T2's rival join to an old ADMIN invite (id ground low)
// makes T2 an admin inside the judging fold; T2's keyless invite event, citing T1's rival join, is then an
// admin-ranked witness for T1. T1 beats X1 (whom a recruiter invited and change agents built on) and X1 is
// un-membered with everything it did. In the whole fold T2 is refused: no member ever vouched for T1.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { commentBody, inviteBody, taskCreateBody } from "../src/pursuance/actions.js";
import { SB, id } from "./helpers/signed-lib.js";

describe("displacement by two leaked tokens", () => {
  it("X1 un-membered, no member colluding", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const F = h.member("founder"), R = h.member("rec"), C1 = h.member("cone"), C2 = h.member("ctwo");
    const X1 = h.member("xone"), X2 = h.member("xtwo"), T1 = h.member("tone"), T2 = h.member("ttwo");
    h.genesis(F);
    for (const [m, r] of [[R, "recruiter"], [C1, "change agent"], [C2, "change agent"]] as const) { const i = h.invite(F, r); h.join(m, i.secret); h.share(F, m); }
    // Long ago: F invited X2 as admin; the token later appears in a chat log.
    const I2 = h.invite(F, "admin"); const J2 = h.join(X2, I2.secret); h.share(F, X2);
    const task = h.emit(C1, (s) => taskCreateBody(C1.actor, s, { text: { title: "t", deliverables: "d" }, readers: ["change agent"], assignee: null }));
    // R invites X1; R welcomes, C1 and C2 build on X1's join; X1 works.
    const I1 = h.invite(R, "change agent"); const J1 = h.join(X1, I1.secret); const S1 = h.share(R, X1);
    h.emit(C1, (s) => commentBody(C1.actor, s.tasks.get(id(task))!, "welcome"), "tips");
    h.emit(C2, (s) => commentBody(C2.actor, s.tasks.get(id(task))!, "welcome"), "tips");
    const work = h.emit(X1, (s) => taskCreateBody(X1.actor, s, { text: { title: "X1's task", deliverables: "d" }, readers: ["change agent"], assignee: null }));
    const honest = h.fold();
    expect(honest.verdict(id(work))).toBeNull();
    // The strangers.
    const J2r = h.join(T2, I2.secret, [id(I2.ev)], "00" + "f".repeat(62));
    const J1r = h.join(T1, I1.secret, [id(I1.ev)]);
    const W = h.emit(T2, (s) => inviteBody(T2.actor, s, "seedling").body, [id(J1r)]);
    const f = h.fold();
    const inc = h.fold(h.all().filter((e) => honest.has(e.id)));
    inc.add(h.all().filter((e) => !honest.has(e.id)));
    expect(inc.hash()).toBe(f.hash());
    expect(f.state.members.has(T2.hex)).toBe(false);
    expect(f.verdict(id(W))).not.toBeNull();
    expect(f.state.members.has(X1.hex)).toBe(true);
    expect(f.verdict(id(work))).toBeNull();
    expect(f.state.members.has(T1.hex)).toBe(false);
  });

  it("variant: X1 invited by an ADMIN as recruiter; T2 adds stranger puppets (keyless invites) to win on count", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const F = h.member("founder"), A = h.member("admin"), C1 = h.member("cone"), C2 = h.member("ctwo");
    const X1 = h.member("xone"), X2 = h.member("xtwo"), T1 = h.member("tone"), T2 = h.member("ttwo");
    const Q = [h.member("qone"), h.member("qtwo"), h.member("qthree")];
    h.genesis(F);
    for (const [m, r] of [[A, "admin"], [C1, "change agent"], [C2, "change agent"]] as const) { const i = h.invite(F, r); h.join(m, i.secret); h.share(F, m); }
    const I2 = h.invite(F, "admin"); h.join(X2, I2.secret); h.share(F, X2);
    const task = h.emit(C1, (s) => taskCreateBody(C1.actor, s, { text: { title: "t", deliverables: "d" }, readers: ["change agent"], assignee: null }));
    const I1 = h.invite(A, "recruiter"); const J1 = h.join(X1, I1.secret); h.share(A, X1);
    h.emit(C1, (s) => commentBody(C1.actor, s.tasks.get(id(task))!, "welcome"), "tips");
    h.emit(C2, (s) => commentBody(C2.actor, s.tasks.get(id(task))!, "welcome"), "tips");
    const work = h.emit(X1, (s) => taskCreateBody(X1.actor, s, { text: { title: "X1's task", deliverables: "d" }, readers: ["recruiter"], assignee: null }));
    const honest = h.fold();
    expect(honest.verdict(id(work))).toBeNull();
    const J2r = h.join(T2, I2.secret, [id(I2.ev)], "00" + "f".repeat(62));
    const J1r = h.join(T1, I1.secret, [id(I1.ev)]);
    for (const q of Q) { const inv = h.invite(T2, "recruiter", [id(J1r)]); h.join(q, inv.secret, [id(inv.ev)]); }
    const f = h.fold();
    expect(f.state.members.has(T2.hex)).toBe(false);
    for (const q of Q) expect(f.state.members.has(q.hex)).toBe(false);
    expect(f.state.members.has(X1.hex)).toBe(true);
    expect(f.verdict(id(work))).toBeNull();
    expect(f.state.members.has(T1.hex)).toBe(false);
  });
});
