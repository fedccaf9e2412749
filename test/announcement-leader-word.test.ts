// Round 2 of the trust-pass attacks: a member removed long ago still holds its
// key and, in any replay that leaves its removal out, its old rank. Alone, off
// the log, it signed an invite (to a role it made up, or to admin), a stranger's
// join, and the join's witness, and the stranger's announcement checked VALID.
// A copy now needs the leader's word for the announcer (src/pursuance/leader-ack.ts):
// a key share from the leader whose highest role key is of a role that may
// announce, or the leader's grant of one, in a role only the leader defined.
// Real libsodium, real fold, real verifier.
import { describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import { genesisBody, inviteBody, joinBody, shareBody } from "../src/pursuance/actions.js";
import { makeProof, proofFromLog, verifyAnnouncement } from "../src/pursuance/announcement-proof.js";
import { SignedWorld } from "./helpers/signed-world.js";

/** Founder F; admin X invited by F, whose key share to X is X's witness and the leader's word; then F removes X. */
async function withRemovedAdmin() {
  const w = await SignedWorld.make();
  const F = w.signer();
  w.genesis = w.sign(F, genesisBody(F.actor, { name: "p", founderName: "founder" }));
  const { body: invB, secret } = inviteBody(F.actor, w.fold().state, "admin");
  const invX = w.sign(F, invB, [w.genesis]);
  const X = w.signer();
  const joinX = w.sign(X, joinBody(X.actor, w.gid(), secret.seed, "xavier"), [invX]);
  const shareX = w.sign(F, shareBody(F.actor, w.fold().state, X.hex)!, [joinX]);
  const P = w.signer();
  const { body: invPB, secret: sp } = inviteBody(F.actor, w.fold().state, "change agent");
  const invP = w.sign(F, invPB, [shareX]);
  const joinP = w.sign(P, joinBody(P.actor, w.gid(), sp.seed, "pat"), [invP]);
  const shareP = w.sign(F, shareBody(F.actor, w.fold().state, P.hex)!, [joinP]);
  const removal = w.sign(F, { t: "remove", member: X.hex, reason: "left the group in anger" }, [shareP]);
  expect(w.fold().state.members.has(X.hex)).toBe(false);
  return { w, F, X, P, invX, joinX, shareX, invP, joinP, shareP, removal };
}

describe("a removed admin cannot mint a VALID announcer off the log", () => {
  it("a stranger's join with a leaked admin token, witnessed by the removed admin: UNPROVEN, naming the missing leader's word", async () => {
    const { w, F, X, invX, joinX, shareX } = await withRemovedAdmin();
    // Alice's admin invite, used by her: its token is in a chat log the stranger read.
    const { body: invAB, secret } = inviteBody(F.actor, w.fold().state, "admin");
    const invA = w.sign(F, invAB);
    const A = w.signer();
    w.sign(A, joinBody(A.actor, w.gid(), secret.seed, "alice"), [invA]);
    const N = w.signer();
    const joinN = w.sign(N, joinBody(N.actor, w.gid(), secret.seed, "alice"), [invA], { posted: false });
    // What the removed admin signs now, off the log: X ranks at admin in a replay that leaves out its removal.
    const witness = w.sign(X, { t: "announce", text: "welcome" }, [joinN, shareX], { posted: false });
    const ann = w.sign(N, { t: "announce", text: "send funds to N" }, [witness], { posted: false });
    const v = verifyAnnouncement(w.crypto, makeProof(ann, w.genesis, [invX, joinX, shareX, invA, joinN, witness]));
    expect(v.status).toBe("UNPROVEN");
    expect(v.headline).toMatch(/not the leader, and no event by the leader acknowledges it/);
  });

  it("a role it makes up with announce, an invite to it, a stranger's join and the witness, all its own: UNPROVEN", async () => {
    const { w, X, invX, joinX, shareX } = await withRemovedAdmin();
    const herald = w.sign(X, { t: "role.create", role: "herald", def: { rank: 30, caps: ["announce"], reads: "role" } }, [shareX], { posted: false });
    const { body: invNB, secret } = inviteBody(X.actor, { ...w.fold().state, rules: { ...w.fold().state.rules, roles: { ...w.fold().state.rules.roles, herald: { rank: 30, caps: ["announce"], reads: "role" } } } }, "herald");
    const invN = w.sign(X, invNB, [herald], { posted: false });
    const N = w.signer();
    const joinN = w.sign(N, joinBody(N.actor, w.gid(), secret.seed, "newcomer"), [invN], { posted: false });
    const witness = w.sign(X, { t: "announce", text: "welcome" }, [joinN], { posted: false });
    const ann = w.sign(N, { t: "announce", text: "send funds to N" }, [witness], { posted: false });
    const v = verifyAnnouncement(w.crypto, makeProof(ann, w.genesis, [invX, joinX, shareX, herald, invN, joinN, witness]));
    expect(v.status).toBe("UNPROVEN");
    expect(v.headline).toMatch(/not the leader, and no event by the leader acknowledges it/);
  });

  it("a role it makes up with announce, granted to itself or to a member the leader did acknowledge: UNPROVEN", async () => {
    const { w, X, P, invX, joinX, shareX, invP, joinP, shareP } = await withRemovedAdmin();
    const herald = w.sign(X, { t: "role.create", role: "herald", def: { rank: 30, caps: ["announce"], reads: "role" } }, [shareX], { posted: false });
    const grant = w.sign(X, { t: "role.grant", member: P.hex, role: "herald", keys: [] }, [herald, shareP], { posted: false });
    const ann = w.sign(P, { t: "announce", text: "the group disbands" }, [grant], { posted: false });
    const v = verifyAnnouncement(w.crypto, makeProof(ann, w.genesis, [invX, joinX, shareX, herald, invP, joinP, shareP, grant]));
    expect(v.status).toBe("UNPROVEN");
    // The leader's share to P carries the change agent key: P's rank as the leader saw it, which may not announce.
    expect(v.headline).toMatch(/no event by the leader acknowledges it/);
  });

  it("announce added off the log to the very role the leader acknowledged the member in: UNPROVEN, naming the role changed by someone else", async () => {
    const { w, X, P, invX, joinX, shareX, invP, joinP, shareP } = await withRemovedAdmin();
    const def = { ...w.fold().state.rules.roles["change agent"]!, caps: [...w.fold().state.rules.roles["change agent"]!.caps, "announce" as const] };
    const amend = w.sign(X, { t: "role.amend", role: "change agent", def }, [shareX], { posted: false });
    const ann = w.sign(P, { t: "announce", text: "the group disbands" }, [shareP, amend], { posted: false });
    const v = verifyAnnouncement(w.crypto, makeProof(ann, w.genesis, [invX, joinX, shareX, amend, invP, joinP, shareP]));
    expect(v.status).toBe("UNPROVEN");
    expect(v.headline).toMatch(/"change agent" was defined or changed in the chain by someone other than the leader/);
  });

  it("the honest flow: an admin the leader acknowledged is VALID from the log, and names the leader's word", async () => {
    const w = await SignedWorld.make();
    const F = w.signer();
    w.genesis = w.sign(F, genesisBody(F.actor, { name: "p", founderName: "founder" }));
    const { body: invB, secret } = inviteBody(F.actor, w.fold().state, "admin");
    const inv = w.sign(F, invB, [w.genesis]);
    const A = w.signer();
    const joinA = w.sign(A, joinBody(A.actor, w.gid(), secret.seed, "alice"), [inv]);
    // Before the leader's word, the same copy is UNPROVEN; after it, VALID.
    const early = w.sign(A, { t: "announce", text: "too soon" }, [joinA], { posted: false });
    const e = verifyAnnouncement(w.crypto, makeProof(early, w.genesis, [inv, joinA]));
    expect(e.status).toBe("UNPROVEN");
    const share = w.sign(F, shareBody(F.actor, w.fold().state, A.hex)!, [joinA]);
    const ann = w.sign(A, { t: "announce", text: "real news" }, [share]);
    const p = proofFromLog(ann, w.genesis, (id) => w.get(id), w.fold().applied);
    const v = verifyAnnouncement(w.crypto, p);
    expect(v.status).toBe("VALID");
    expect(p.chain).toHaveLength(3);
  });
});

describe("a key share that names the recipient's roles", () => {
  it("is refused when it names a role the recipient does not hold, and applies when true", async () => {
    const w = await SignedWorld.make();
    const F = w.signer();
    w.genesis = w.sign(F, genesisBody(F.actor, { name: "p", founderName: "founder" }));
    const { body: invB, secret } = inviteBody(F.actor, w.fold().state, "change agent");
    const inv = w.sign(F, invB, [w.genesis]);
    const A = w.signer();
    const joinA = w.sign(A, joinBody(A.actor, w.gid(), secret.seed, "alice"), [inv]);
    const honest = shareBody(F.actor, w.fold().state, A.hex)! as Extract<ReturnType<typeof shareBody>, { t: "keys.share" }>;
    expect(honest.roles).toEqual(["change agent"]);
    const lie = w.sign(F, { ...honest, roles: ["admin"] }, [joinA]);
    expect(w.fold().verdict(toHex(lie.id))).toMatch(/does not hold "admin", which the share names/);
    const truth = w.sign(F, honest, [lie]);
    expect(w.fold().verdict(toHex(truth.id))).toBeNull();
  });
});
