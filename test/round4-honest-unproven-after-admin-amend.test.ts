// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 2, honest side. The leader granted X "press" (its word). An honest admin with rules.change later
// makes a benign amendment to "press" (adds task.create). From then on every press officer's copy,
// built from the log by the real builder, is UNPROVEN, and the leader's fresh share naming "press" does not help.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { toHex } from "../src/cwtch/bytes.js";
import { proofFromLog, verifyAnnouncement } from "../src/pursuance/announcement-proof.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { SB, id } from "./helpers/signed-lib.js";

describe("honest press officer UNPROVEN after a benign admin amend", () => {
  it("UNPROVEN though the leader granted and re-acknowledged the role", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const rules = defaultRules();
    rules.roles["press"] = { rank: 50, caps: ["announce", "task.comment"], reads: "role" };
    const F = h.member("founder"), A = h.member("admin"), X = h.member("xavier");
    const g = h.genesis(F, rules);
    const iA = h.invite(F, "admin"); h.join(A, iA.secret); h.share(F, A);
    const iX = h.invite(F, "seedling"); h.join(X, iX.secret); h.share(F, X);
    h.grant(F, X, "press");
    // Before the amend: VALID.
    const a1 = h.emit(X, { t: "announce", text: "first" });
    let f = h.fold();
    const get = (i: string) => h.signed.get(i);
    const v1 = verifyAnnouncement(c, proofFromLog(a1, g, get, f.applied), { pursuanceId: id(g), founderKey: F.hex });
    expect(v1.status).toBe("VALID");
    // Honest admin amends press benignly (adds task.create).
    h.emit(A, { t: "role.amend", role: "press", def: { rank: 50, caps: ["announce", "task.comment", "task.create"], reads: "role" } });
    // The leader's client acknowledges again (share naming X's roles).
    h.share(F, X);
    const a2 = h.emit(X, { t: "announce", text: "second" });
    f = h.fold();
    expect(f.verdict(id(a2))).toBeNull(); // the log accepts it
    const v2 = verifyAnnouncement(c, proofFromLog(a2, g, get, f.applied), { pursuanceId: id(g), founderKey: F.hex });
    expect(v2.status).toBe("UNPROVEN");
    // The leader re-amending it restores it.
    h.emit(F, { t: "role.amend", role: "press", def: { rank: 50, caps: ["announce", "task.comment"], reads: "role" } });
    h.share(F, X);
    const a3 = h.emit(X, { t: "announce", text: "third" });
    f = h.fold();
    expect(f.verdict(id(a3))).toBeNull();
    const v3 = verifyAnnouncement(c, proofFromLog(a3, g, get, f.applied), { pursuanceId: id(g), founderKey: F.hex });
    expect(v3.status).toBe("VALID"); // the leader's later definition is the leader's word again
    void toHex;
  });
});
