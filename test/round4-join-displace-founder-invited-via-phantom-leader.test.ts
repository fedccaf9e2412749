// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 1, no insider. Inside a judging fold other contests fall to id order, so strangers holding two used ADMIN
// tokens (ground-low rival joins) are admins there; with claimed timestamps a month ahead their two votes crown
// one of them leader (primary, rank 100) there. That phantom leader's vote, and joins of puppets it invites, all
// built on a third stranger's rival join to the admin invite of X1 (whom the FOUNDER invited and welcomed, and
// change agents built on), outrank-and-outnumber X1's witnesses. The whole fold never admits the phantoms, yet X1
// is un-membered and the third stranger becomes an admin.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { commentBody, taskCreateBody } from "../src/pursuance/actions.js";
import { SB, id } from "./helpers/signed-lib.js";

describe("phantom leader in a judging fold", () => {
  it("a founder-invited admin is displaced by strangers with leaked tokens", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const F = h.member("founder"), C1 = h.member("cone"), C2 = h.member("ctwo");
    const X1 = h.member("xone"), X2 = h.member("xtwo"), X3 = h.member("xthree");
    const T1 = h.member("tone"), T2 = h.member("ttwo"), T3 = h.member("tthree");
    const Q = [h.member("qone"), h.member("qtwo"), h.member("qthree")];
    h.genesis(F);
    for (const m of [C1, C2]) { const i = h.invite(F, "change agent"); h.join(m, i.secret); h.share(F, m); }
    const I2 = h.invite(F, "admin"); h.join(X2, I2.secret); h.share(F, X2);
    const I3 = h.invite(F, "admin"); h.join(X3, I3.secret); h.share(F, X3);
    const task = h.emit(C1, (s) => taskCreateBody(C1.actor, s, { text: { title: "t", deliverables: "d" }, readers: ["change agent"], assignee: null }));
    const I1 = h.invite(F, "admin"); const J1 = h.join(X1, I1.secret); h.share(F, X1);
    h.emit(C1, (s) => commentBody(C1.actor, s.tasks.get(id(task))!, "welcome"), "tips");
    h.emit(C2, (s) => commentBody(C2.actor, s.tasks.get(id(task))!, "welcome"), "tips");
    const work = h.emit(X1, (s) => taskCreateBody(X1.actor, s, { text: { title: "X1's task", deliverables: "d" }, readers: ["admin"], assignee: null }));
    const honest = h.fold();
    expect(honest.verdict(id(work))).toBeNull();
    const low = "00" + "f".repeat(62);
    const J2r = h.join(T2, I2.secret, [id(I2.ev)], low);
    const J3r = h.join(T3, I3.secret, [id(I3.ev)], low);
    const J1r = h.join(T1, I1.secret, [id(I1.ev)]);
    const later = h.clock + 30 * 86_400_000;
    const v3 = h.emit(T3, { t: "leader.vote", candidate: T2.hex }, [id(J1r), id(J2r)], { ts: later });
    const v2 = h.emit(T2, { t: "leader.vote", candidate: T2.hex }, [id(J1r), id(J3r), id(v3)], { ts: later + 1000 });
    for (const q of Q) { const inv = h.invite(T2, "admin", [id(v2)]); h.join(q, inv.secret, [id(inv.ev)]); }
    const f = h.fold();
    const inc = h.fold(h.all().filter((e) => honest.has(e.id)));
    inc.add(h.all().filter((e) => !honest.has(e.id)));
    expect(inc.hash()).toBe(f.hash());
    expect(f.state.leader).toBe(F.hex);
    expect(f.state.members.has(T2.hex) || f.state.members.has(T3.hex)).toBe(false);
    expect(f.state.members.has(X1.hex)).toBe(true);
    expect(f.verdict(id(work))).toBeNull();
    expect(f.state.members.has(T1.hex)).toBe(false);
  });
});
