// Round 4 of the trust-pass attacks (an attacker who read only the docs and public APIs), kept as a
// test of the defence: the assertions below are the defended outcome (join-contest.ts, leader-ack.ts).
// Target 2: stale role names. The leader granted X "press" when "press" could not announce. Later the leader
// deleted "press" (X loses it) and created a new "press" that may announce, for others. X's copy carries the
// NEW role.create placed before the OLD grant (the chain order check only looks at direct citations among chain
// events), so the replay gives X the announcing "press" on the leader's word: VALID, though X never held announce.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { makeProof, verifyAnnouncement } from "../src/pursuance/announcement-proof.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { SB, id } from "./helpers/signed-lib.js";

describe("stale role name", () => {
  it("VALID for a member who only held a non-announcing role of the same name", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const F = h.member("founder"), X = h.member("xavier");
    const g = h.genesis(F);
    const c1 = h.emit(F, { t: "role.create", role: "press", def: { rank: 50, caps: ["task.comment"], reads: "role" } });
    const iX = h.invite(F, "seedling"); const jX = h.join(X, iX.secret); const sX = h.share(F, X);
    const gr = h.grant(F, X, "press");
    // Months of other work by the leader.
    for (let k = 0; k < 2; k++) h.emit(F, (s) => taskCreateBody(F.actor, s, { text: { title: "t" + k, deliverables: "d" }, readers: ["admin"], assignee: null }));
    h.emit(F, { t: "role.delete", role: "press" });
    h.emit(F, (s) => taskCreateBody(F.actor, s, { text: { title: "x", deliverables: "d" }, readers: ["admin"], assignee: null }));
    const c2 = h.emit(F, { t: "role.create", role: "press", def: { rank: 50, caps: ["announce", "task.comment"], reads: "role" } });
    const f = h.fold();
    expect(f.verdict(id(c2))).toBeNull();
    expect(f.state.members.get(X.hex)!.roles.has("press")).toBe(false);
    const ann = h.emit(X, { t: "announce", text: "Official statement" });
    expect(h.fold().verdict(id(ann))).not.toBeNull();
    const chain = [c2, iX.ev, jX, sX, gr];
    const v = verifyAnnouncement(c, makeProof(ann, g, chain), { pursuanceId: id(g), founderKey: F.hex });
    expect(v.status).toBe("UNPROVEN");
    void c1;
  });

  it("variant without reordering: revoked before the leader's amend adds announce; VALID 'as of' the amend", async () => {
    const c = await loadCrypto();
    const h = new SB(c);
    const F = h.member("founder"), X = h.member("xavier");
    const g = h.genesis(F);
    const c1 = h.emit(F, { t: "role.create", role: "press", def: { rank: 50, caps: ["task.comment"], reads: "role" } });
    const iX = h.invite(F, "seedling"); const jX = h.join(X, iX.secret); const sX = h.share(F, X);
    const gr = h.grant(F, X, "press");
    h.emit(F, { t: "role.revoke", member: X.hex, role: "press" });
    const am = h.emit(F, { t: "role.amend", role: "press", def: { rank: 50, caps: ["announce", "task.comment"], reads: "role" } });
    const f = h.fold();
    expect(f.verdict(id(am))).toBeNull();
    expect(f.state.members.get(X.hex)!.roles.has("press")).toBe(false);
    const ann = h.emit(X, { t: "announce", text: "Official statement" });
    expect(h.fold().verdict(id(ann))).not.toBeNull();
    const v = verifyAnnouncement(c, makeProof(ann, g, [c1, iX.ev, jX, sX, gr, am]), { pursuanceId: id(g), founderKey: F.hex });
    expect(v.status).toBe("UNPROVEN");
    expect(v.headline).toMatch(/before the leader's last definition/);
  });
});
