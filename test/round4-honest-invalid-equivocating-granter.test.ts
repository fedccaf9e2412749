// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 2, honest side. Recruiter R re-signs one seq twice: variant A grants X "press", variant B grants X
// "helper". R shows A to member M1 and B to member M2; each writes a task comment before seeing the other, so both
// variants are witnessed, kept and applied (grants reduce no one). X holds both roles, the leader acknowledges
// them, and X's announcements are accepted by the fold. Every copy the builder makes carries two events by R at
// one seq: INVALID ("its author equivocated"), for an honest announcer, forever.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { proofFromLog, verifyAnnouncement } from "../src/pursuance/announcement-proof.js";
import { commentBody, grantBody, taskCreateBody } from "../src/pursuance/actions.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { SB, id } from "./helpers/signed-lib.js";

describe("equivocating granter poisons the announcer's copies", () => {
  it("honest X: accepted by the fold, INVALID in every copy", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const rules = defaultRules();
    rules.roles["press"] = { rank: 50, caps: ["announce", "task.comment"], reads: "role" };
    rules.roles["helper"] = { rank: 45, caps: ["task.comment"], reads: "role" };
    const F = h.member("founder"), R = h.member("rec"), M1 = h.member("mone"), M2 = h.member("mtwo"), X = h.member("xavier");
    const g = h.genesis(F, rules);
    for (const [m, r] of [[R, "recruiter"], [M1, "change agent"], [M2, "change agent"], [X, "change agent"]] as const) { const i = h.invite(F, r); h.join(m, i.secret); h.share(F, m); }
    const task = h.emit(F, (s) => taskCreateBody(F.actor, s, { text: { title: "t", deliverables: "d" }, readers: ["change agent"], assignee: null }));
    const base = h.tips();
    const n = R.chain.length + 1;
    const gA = h.emit(R, (s) => grantBody(R.actor, s, X.hex, "press"), base);
    const gB = h.emit(R, (s) => grantBody(R.actor, s, X.hex, "helper"), base, { forkAt: n });
    h.emit(M1, (s) => commentBody(M1.actor, s.tasks.get(id(task))!, "ok"), [id(gA)]);
    h.emit(M2, (s) => commentBody(M2.actor, s.tasks.get(id(task))!, "ok"), [id(gB)]);
    h.share(F, X); // the leader's ack duty: names X's roles
    const ann = h.emit(X, { t: "announce", text: "honest statement" });
    const f = h.fold();
    expect(f.verdict(id(ann))).toBeNull();
    const v = verifyAnnouncement(c, proofFromLog(ann, g, (i) => h.signed.get(i), f.applied), { pursuanceId: id(g), founderKey: F.hex });
    expect(v.status).not.toBe("INVALID"); // the builder carries one kept variant
  });
});
