// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 1. A vouch is judged in a fold where OTHER contests are not judged (ordinary id order), while
// "applied in the previous pass" only checks that the witness EVENT applied in the whole fold, not that its
// author's power to invite exists there. Second leaked token (admin invite, ground-low id) makes stranger T2
// an admin inside the judging fold; T2 grants colluding change agent M "recruiter" there; M's ordinary comment
// (applied in the whole fold: M is a change agent) witnesses stranger T1's rival join and vouches for it.
// Whole fold: T2 is refused (honest X2 wins contest 2), M never held member.invite, yet T1 is admitted.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { commentBody, taskCreateBody } from "../src/pursuance/actions.js";
import { SB, id } from "./helpers/signed-lib.js";
import { Fold } from "../src/pursuance/fold.js";

describe("cross-contest vouch", () => {
  it("a change agent + two leaked tokens admit a stranger", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const F = h.member("founder"), M = h.member("mallory"), X1 = h.member("xone"), X2 = h.member("xtwo");
    const T1 = h.member("tone"), T2 = h.member("ttwo");
    h.genesis(F);
    { const i = h.invite(F, "change agent"); h.join(M, i.secret); h.share(F, M); }
    const task = h.emit(F, (s) => taskCreateBody(F.actor, s, { text: { title: "t", deliverables: "d" }, readers: ["change agent"], assignee: null }));
    const taskId = id(task);
    // Two honest admissions (F is the inviter; the welcome shares are its witnesses).
    const I2 = h.invite(F, "admin");
    const mPrev = h.tips();
    const I1 = h.invite(F, "change agent"); const J1 = h.join(X1, I1.secret); h.share(F, X1);
    const J2 = h.join(X2, I2.secret); h.share(F, X2);
    const honest = h.fold();
    expect(honest.state.members.has(X1.hex) && honest.state.members.has(X2.hex)).toBe(true);
    // Both tokens leak. T2's rival join to the admin invite, id ground below everything.
    const J2r = h.join(T2, I2.secret, [id(I2.ev)], "0".repeat(2) + "f".repeat(62));
    // T2, admin where contest 2 is not judged, grants M "recruiter" (key refs carry the public key ids; seals are junk).
    const G2 = h.emit(T2, (s) => ({ t: "role.grant", member: M.hex, role: "recruiter", keys: [{ scope: "recruiter", keyId: s.keys.get("recruiter")!.keyId, sealed: "AAAA" }] }), [id(J2r), ...mPrev]);
    const J1r = h.join(T1, I1.secret, [id(I1.ev)]);
    const W1 = h.emit(M, (s) => commentBody(M.actor, s.tasks.get(taskId)!, "hello"), [id(J1r), id(G2), ...mPrev]);
    const f = h.fold();
    const inc = h.fold(h.all().filter((e) => honest.has(e.id)));
    inc.add(h.all().filter((e) => !honest.has(e.id)));
    expect(f.state.members.has(T2.hex)).toBe(false);
    expect(f.verdict(id(G2))).not.toBeNull();
    expect([...f.state.members.get(M.hex)!.roles]).toEqual(["change agent"]);
    expect(f.verdict(id(J1r))).toMatch(/already used/);
    expect(f.state.members.has(T1.hex)).toBe(false);
  });
});
