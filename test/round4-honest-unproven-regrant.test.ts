// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 2, honest side. The leader grants X "press", later revokes it, later grants it again. The log holds X in
// press and accepts X's announcement; the builder's chain carries both grants (the revoke may not ride along), so
// the replay refuses the second grant ("already holds") and the honest copy is UNPROVEN for good.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { proofFromLog, verifyAnnouncement } from "../src/pursuance/announcement-proof.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { SB, id } from "./helpers/signed-lib.js";

describe("honest re-grant", () => {
  it("UNPROVEN after revoke + re-grant by the leader", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const rules = defaultRules();
    rules.roles["press"] = { rank: 50, caps: ["announce", "task.comment"], reads: "role" };
    const F = h.member("founder"), X = h.member("xavier");
    const g = h.genesis(F, rules);
    const iX = h.invite(F, "seedling"); h.join(X, iX.secret); h.share(F, X);
    h.grant(F, X, "press");
    h.emit(F, { t: "role.revoke", member: X.hex, role: "press" });
    h.grant(F, X, "press");
    h.share(F, X); // the leader's ack duty, for good measure
    const ann = h.emit(X, { t: "announce", text: "hello" });
    const f = h.fold();
    expect(f.verdict(id(ann))).toBeNull();
    const v = verifyAnnouncement(c, proofFromLog(ann, g, (i) => h.signed.get(i), f.applied), { pursuanceId: id(g), founderKey: F.hex });
    expect(v.status).toBe("VALID"); // the chain carries the last grant only
  });
});
