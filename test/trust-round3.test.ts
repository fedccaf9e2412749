// Round 3 of the attacks on the trust pass (an attacker who read only the docs and the
// public APIs), each turned into a test of the defence: the judging fold refuses rivals
// instead of leaving out what descends from them, a vouch counts only from a witness the
// whole fold applied, and the leader's word names roles (src/pursuance/join-contest.ts,
// leader-ack.ts). Real libsodium, real fold, real verifier.
import { describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { joinBody } from "../src/pursuance/actions.js";
import { makeProof, proofFromLog, verifyAnnouncement } from "../src/pursuance/announcement-proof.js";
import { foldAll } from "../src/pursuance/fold.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { hasCap } from "../src/pursuance/state.js";
import { History, Rng, deliver, randomCausalOrder, randomChunks } from "../harness/history.js";
import { SLog } from "./helpers/slog.js";

describe("a second leaked token cannot vouch for the first stranger (round 3)", () => {
  it("the stranger's reused join stays refused: a vouch counts only from a witness the whole fold applied", async () => {
    const crypto = await loadCrypto();
    const h = new History(crypto, 7);
    const L = h.member("leader");
    const C = h.member("carol");
    const B = h.member("bob");
    const D = h.member("dave");
    const S1 = h.member("mallory");
    const S2 = h.member("trudy");
    h.genesis(L);
    const i1 = h.invite(L, "recruiter");
    const i2 = h.invite(L, "admin");
    const j1 = h.join(C, i1.secret, [i1.event]);
    const j2 = h.join(B, i2.secret, [i2.event]);
    h.share(L, C);
    h.share(L, B);
    h.addMember(L, D, "seedling");
    const t = h.task(B, ["admin"]);
    h.comment(L, t, "work built on bob and carol");
    h.emit(C, { t: "invite.revoke", invite: (i1.event.body as { invite: string }).invite }); // too late: used
    const gid = h.events[0]!.id;
    // The attack: both tokens leaked (chat log). Strangers sign; seedling dave relays the bytes.
    const jr = h.emit(S1, joinBody(S1.actor, gid, i1.secret.seed, "mallory"), [i1.event], { grind: 4096 })!;
    const s2 = h.emit(S2, joinBody(S2.actor, gid, i2.secret.seed, "trudy"), [i2.event, jr], { grind: 4096 })!;
    // Control: without trudy's rival join, mallory's join is a plain reuse.
    const ctl = foldAll(crypto, h.events.filter((e) => e.id !== s2.id), gid);
    expect(ctl.verdict(jr.id)).toMatch(/already used/);
    const f = h.fold();
    const s = f.state;
    // Honest members are intact.
    expect(s.members.get(C.hex)?.roles.has("recruiter")).toBe(true);
    expect(s.members.get(B.hex)?.roles.has("admin")).toBe(true);
    expect(f.verdict(j1.id)).toBeNull();
    expect(f.verdict(j2.id)).toBeNull();
    // The voucher's join is refused in the real fold: nobody who could have made I1 built on J'.
    expect(f.verdict(s2.id)).not.toBeNull();
    expect(s.members.has(S2.hex)).toBe(false);
    expect(f.verdict(jr.id)).toMatch(/already used/);
    expect(s.members.has(S1.hex)).toBe(false);
    // Every client agrees (fresh and incremental, many orders): it is the protocol's verdict.
    const rng = new Rng(99);
    for (let k = 0; k < 12; k++) {
      const order = randomCausalOrder(h.events, rng);
      const { fold } = deliver(crypto, randomChunks(order, rng, 4), gid);
      expect(fold.hash()).toBe(f.hash());
      expect(fold.state.members.has(S1.hex)).toBe(false);
    }
  });
});

describe("a removed admin cannot vouch through the judging fold (round 3)", () => {
  it("a rival is judged with the honest join refused, not left out, so the removal written after it still removes the voucher", async () => {
    const crypto = await loadCrypto();
    const h = new History(crypto, 21);
    const L = h.member("leader");
    const Z = h.member("zed");
    const C = h.member("carol");
    const S = h.member("mallory");
    h.genesis(L);
    h.addMember(L, Z, "admin");
    h.share(L, Z);
    const zLast = h.task(Z, ["admin"], { title: "zed's last act" }); // zed's last event before the removal
    const i1 = h.invite(L, "recruiter");
    const j1 = h.join(C, i1.secret, [i1.event]);
    h.share(L, C);
    const rm = h.remove(L, Z); // cites every head, carol's join included
    for (const sc of ["group", "admin", "recruiter", "change agent"]) if (h.state().keys.get(sc)?.needsRotation) h.rotate(L, sc);
    const t = h.task(C, ["recruiter"]);
    h.comment(L, t, "carol's work");
    const gid = h.events[0]!.id;
    // After the removal: the leaked (used) recruiter token; zed cites the rival and its own pre-removal chain only.
    const jr = h.emit(S, joinBody(S.actor, gid, i1.secret.seed, "mallory"), [i1.event])!;
    const w = h.task(Z, ["admin"], { title: "welcome" }, [jr, zLast]);
    const ctl = foldAll(crypto, h.events.filter((e) => e.id !== w.id), gid);
    expect(ctl.verdict(jr.id)).toMatch(/already used/);
    const f = h.fold();
    expect(f.verdict(rm.id)).toBeNull();
    expect(f.state.members.has(Z.hex)).toBe(false);
    expect(f.verdict(w.id)).not.toBeNull(); // zed's witness is refused in the real fold
    expect(f.verdict(j1.id)).toBeNull();
    expect(f.verdict(jr.id)).toMatch(/already used/);
    expect(f.state.members.has(S.hex)).toBe(false);
    const rng = new Rng(3);
    for (let k = 0; k < 10; k++) {
      const { fold } = deliver(crypto, randomChunks(randomCausalOrder(h.events, rng), rng, 4), gid);
      expect(fold.hash()).toBe(f.hash());
    }
  });
});

describe("the leader's word is the roles it names, not the rank of the keys it shares (round 3)", () => {
  it("a removed admin who re-ranks roles off the log cannot make a recruiter who never held announce VALID", async () => {
    const crypto = await loadCrypto();
    const g = new SLog(crypto);
    const rules = defaultRules();
    rules.roles.press = { rank: 50, caps: ["announce", "task.comment"], reads: "role" };
    const L = g.member("leader");
    const R = g.member("rex");
    const M = g.member("mia");
    g.genesisOf(L, rules);
    const invR = g.invite(L, "admin");
    const joinR = g.join(R, invR);
    const shareR = g.share(L, R);
    const invM = g.invite(L, "recruiter");
    const joinM = g.join(M, invM);
    const shareM = g.share(L, M); // the honest welcome share: group, recruiter, press, change agent keys
    g.emit(L, { t: "remove", member: R.hex, reason: "gone rogue" });
    expect(g.state.members.has(R.hex)).toBe(false);
    expect(g.state.members.get(M.hex)?.roles.has("recruiter")).toBe(true);
    // In the real log mia may not announce.
    const tryAnn = g.emit(M, { t: "announce", text: "official: send funds to X" });
    expect(g.verdict(tryAnn)).toMatch(/announce/);
    // Off the log: the removed admin's amend, citing only its own join.
    const recr = rules.roles.recruiter!;
    const amend = g.emit(R, { t: "role.amend", role: "recruiter", def: { rank: 45, caps: [...recr.caps, "announce"], reads: "role" } }, [], { post: false });
    const ann = g.emit(M, { t: "announce", text: "official: send funds to X" }, [], { post: false });
    const control = verifyAnnouncement(crypto, makeProof(ann, g.genesis, [invR.ev, joinR, shareR, invM.ev, joinM, shareM]), { founderKey: L.hex });
    expect(control.status).toBe("UNPROVEN");
    const v = verifyAnnouncement(crypto, makeProof(ann, g.genesis, [invR.ev, joinR, shareR, amend, invM.ev, joinM, shareM]), { founderKey: L.hex, pursuanceId: g.gid });
    expect(v.status).toBe("UNPROVEN");
    expect(v.headline).toMatch(/"recruiter" was defined or changed in the chain by someone other than the leader/);
    expect(toHex(ann.author)).toBe(M.hex);
  });
});

describe("an announcer whose top role key may not announce is acknowledged in the role that may (round 3)", () => {
  it("a recruiter granted press by an admin is VALID once the leader's share names press", async () => {
    const crypto = await loadCrypto();
    const g = new SLog(crypto);
    const rules = defaultRules();
    rules.roles.press = { rank: 50, caps: ["announce", "task.comment"], reads: "role" };
    const L = g.member("leader");
    const A = g.member("ann");
    const M = g.member("mia");
    g.genesisOf(L, rules);
    g.join(A, g.invite(L, "admin"));
    g.share(L, A);
    g.join(M, g.invite(L, "recruiter"));
    g.share(L, M);
    const gr = g.emit(A, { t: "role.grant", member: M.hex, role: "press", keys: [] });
    expect(g.verdict(gr)).toBeNull();
    expect(hasCap(g.state, M.hex, "announce")).toBe(true);
    const ann = g.emit(M, { t: "announce", text: "press release" });
    expect(g.verdict(ann)).toBeNull(); // the pursuance accepts it
    // The leader does everything it can: shares again (its top key is still "recruiter"), tries to grant press.
    g.share(L, M);
    const lg = g.emit(L, { t: "role.grant", member: M.hex, role: "press", keys: [] });
    expect(g.verdict(lg)).toMatch(/already/);
    const ann2 = g.emit(M, { t: "announce", text: "second press release" });
    expect(g.verdict(ann2)).toBeNull();
    const get = (id: string) => g.byId.get(id);
    // Before the leader named press: UNPROVEN; after: VALID.
    expect(verifyAnnouncement(crypto, proofFromLog(ann, g.genesis, get, g.fold.applied), { founderKey: L.hex }).status).toBe("UNPROVEN");
    const v2 = verifyAnnouncement(crypto, proofFromLog(ann2, g.genesis, get, g.fold.applied), { founderKey: L.hex });
    expect(v2.status).toBe("VALID");
    expect(v2.headline).toContain("on the word of the leader");
  });

  it("a press officer is VALID when another keyed role shares press's rank and sorts first", async () => {
    const crypto = await loadCrypto();
    const g = new SLog(crypto);
    const rules = defaultRules();
    rules.roles.press = { rank: 50, caps: ["announce", "task.comment"], reads: "role" };
    rules.roles.events = { rank: 50, caps: ["task.create", "task.comment"], reads: "role" };
    const L = g.member("leader");
    const M = g.member("mia");
    g.genesisOf(L, rules);
    const j = g.join(M, g.invite(L, "press")); // invited by the leader itself
    expect(g.verdict(j)).toBeNull();
    g.share(L, M); // the leader's own welcome share: events + press keys
    g.share(L, M); // and again: nothing changes
    const ann = g.emit(M, { t: "announce", text: "press release" });
    expect(g.verdict(ann)).toBeNull();
    const v = verifyAnnouncement(crypto, proofFromLog(ann, g.genesis, (id) => g.byId.get(id), g.fold.applied), { founderKey: L.hex });
    expect(v.status).toBe("VALID");
  });
});
