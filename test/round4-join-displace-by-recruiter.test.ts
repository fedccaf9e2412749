// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 1. A recruiter (no member.remove) with a leaked used token and three seedling puppets
// un-members X, whom another recruiter invited and whom two change agents built on.
// The inviter's welcome share is an honest "vouch", but it counts only if the whole fold applied it in
// the previous pass; it is a share TO X, so it applies only when X's join already won pass 1.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { commentBody, taskCreateBody } from "../src/pursuance/actions.js";
import { SB, id } from "./helpers/signed-lib.js";

describe("displace an honest member via a vouch-less rival", () => {
  it("X (invited by R, built on by C1, C2) is un-membered by recruiter R2 + stranger + puppets", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const F = h.member("founder"), R = h.member("rec"), R2 = h.member("rectwo"), C1 = h.member("cone"), C2 = h.member("ctwo");
    const X = h.member("xavier"), T = h.member("stranger");
    const P = [h.member("pone"), h.member("ptwo"), h.member("pthree")];
    h.genesis(F);
    for (const [m, r] of [[R, "recruiter"], [R2, "recruiter"], [C1, "change agent"], [C2, "change agent"]] as const) {
      const i = h.invite(F, r); h.join(m, i.secret); h.share(F, m);
    }
    for (const p of P) { const i = h.invite(R2, "change agent"); h.join(p, i.secret); h.share(R2, p); }
    const task = h.emit(C1, (s) => taskCreateBody(C1.actor, s, { text: { title: "t", deliverables: "d" }, readers: ["change agent"], assignee: null }));
    const taskId = id(task);
    const pre = h.tips();
    const iX = h.invite(R, "seedling");
    const J = h.join(X, iX.secret);
    const S = h.share(R, X, [id(J)]);
    const w1 = h.emit(C1, (s) => commentBody(C1.actor, s.tasks.get(taskId)!, "welcome X"), [id(J), id(S)]);
    const w2 = h.emit(C2, (s) => commentBody(C2.actor, s.tasks.get(taskId)!, "hi X"), [id(J), id(S)]);
    const honest = h.fold();
    expect(honest.state.members.has(X.hex)).toBe(true);
    // The token leaked (chat log). The stranger signs a rival join citing only the invite.
    const J2 = h.join(T, iX.secret, [id(iX.ev)]);
    // R2 (forward of pre, never saw J) and its puppets build on J2 alone.
    h.emit(R2, (s) => commentBody(R2.actor, s.tasks.get(taskId)!, "welcome T"), [id(J2), ...pre]);
    for (const p of P) h.emit(p, (s) => commentBody(p.actor, s.tasks.get(taskId)!, "welcome T"), [id(J2), ...pre]);
    const f = h.fold();
    // Incremental too: the honest fold then the attacker's events arriving.
    const inc = h.fold(h.all().filter((e) => honest.has(e.id)));
    inc.add(h.all().filter((e) => !honest.has(e.id)));
    expect(inc.hash()).toBe(f.hash());
    expect(f.state.members.has(X.hex)).toBe(true);
    expect(f.verdict(id(J))).toBeNull();
    expect(f.state.members.has(T.hex)).toBe(false);
    void w1; void w2;
  });
});
