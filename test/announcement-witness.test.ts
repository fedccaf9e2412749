// A join in a role chain counts only with a witness (src/pursuance/join-witness.ts):
// the bare [invite, join] pair can be signed by anyone holding a used invite
// token, since the join is signed with the invite's secret and a copy never
// shows the first join that used it. Real libsodium, real fold, real CLI verifier.
import { describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import type { SignedEvent } from "../src/cwtch/message.js";
import { genesisBody, inviteBody, joinBody, shareBody } from "../src/pursuance/actions.js";
import { makeProof, profileText, proofFromLog, verifyAnnouncement } from "../src/pursuance/announcement-proof.js";
import { Fold } from "../src/pursuance/fold.js";
import { toPEvent } from "../src/pursuance/pevent.js";
import { announcementMessage } from "../src/bridge/announce/render.js";
import { runVerifyAnnouncement } from "../src/cli/announce-command.js";
import { SignedWorld, type Signer } from "./helpers/signed-world.js";

/** Founder F; admin A invited by F and joined; F shares A's keys (the join's witness, and the leader's word for A); A announces. */
async function pursuance() {
  const w = await SignedWorld.make();
  const F = w.signer();
  w.genesis = w.sign(F, genesisBody(F.actor, { name: "p", founderName: "founder" }));
  const { body: invB, secret } = inviteBody(F.actor, w.fold().state, "admin", { expires: w.clock + 7 * 86400_000 });
  const inv = w.sign(F, invB, [w.genesis]);
  const A = w.signer();
  const joinA = w.sign(A, joinBody(A.actor, w.gid(), secret.seed, "alice"), [inv]);
  const witness = w.sign(F, shareBody(F.actor, w.fold().state, A.hex)!, [joinA]);
  const ann = w.sign(A, { t: "announce", text: "real news" }, [witness]);
  return { w, F, A, inv, joinA, witness, ann, seed: secret.seed };
}

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("a join in a role chain needs a witness", () => {
  it("an honest admin's copy from the log carries its join's witness and is VALID, the same in every arrival order (fresh and incremental)", async () => {
    const { w, ann } = await pursuance();
    const want = w.fold().hash();
    const seen = new Set<string>();
    for (let k = 0; k < 12; k++) {
      const order = shuffled(w.events, k + 1);
      const fresh = w.fold(order);
      const inc = new Fold({ crypto: w.crypto, genesisId: w.gid() });
      for (const e of order) inc.add([toPEvent(e)]);
      expect(fresh.hash()).toBe(want);
      expect(inc.hash()).toBe(want);
      for (const f of [fresh, inc]) {
        const p = proofFromLog(ann, w.genesis, (id) => w.get(id), f.applied);
        seen.add(JSON.stringify(p.chain));
        expect(verifyAnnouncement(w.crypto, p).status).toBe("VALID");
      }
    }
    expect(seen.size).toBe(1);
    expect(JSON.parse([...seen][0]!)).toHaveLength(3); // invite, join, the founder's witness
  });

  it("a stranger with a used invite token and the public chain is UNPROVEN: [invite, own join], and with the genuine witness (which descends from the first join, not its own)", async () => {
    const { w, F, inv, witness, seed } = await pursuance();
    const X = w.signer();
    const joinX = w.sign(X, joinBody(X.actor, w.gid(), seed, "alice"), [inv], { posted: false });
    // Were it posted after the first join, the fold would refuse it as a reuse: X is never a member.
    const late = w.signer();
    const posted = w.sign(late, joinBody(late.actor, w.gid(), seed, "alice"), [inv, witness], { posted: false });
    expect(w.fold([...w.events, posted]).state.members.has(late.hex)).toBe(false);
    const annX = w.sign(X, { t: "announce", text: "alice here: send funds to X" }, [joinX], { posted: false });
    for (const chain of [[inv, joinX], [inv, joinX, witness]]) {
      const v = verifyAnnouncement(w.crypto, makeProof(annX, w.genesis, chain), { pursuanceId: w.gid(), founderKey: F.hex });
      expect(v.status).not.toBe("VALID");
    }
    const v = verifyAnnouncement(w.crypto, makeProof(annX, w.genesis, [inv, joinX]));
    expect(v.status).toBe("UNPROVEN");
    expect(v.headline).toContain("has no witness");
  });

  it("two strangers' forged joins witnessing each other, and a seedling witnessing a stranger's admin join, are UNPROVEN", async () => {
    const { w, F, inv, seed } = await pursuance();
    // A second used admin invite, and a genuine seedling S (invited by F, witnessed by F).
    const { body: inv2B, secret: s2 } = inviteBody(F.actor, w.fold().state, "admin");
    const inv2 = w.sign(F, inv2B);
    const B = w.signer();
    const joinB = w.sign(B, joinBody(B.actor, w.gid(), s2.seed, "bob"), [inv2]);
    const { body: inv3B, secret: s3 } = inviteBody(F.actor, w.fold().state, "seedling");
    const inv3 = w.sign(F, inv3B, [joinB]);
    const S = w.signer();
    const joinS = w.sign(S, joinBody(S.actor, w.gid(), s3.seed, "sprout"), [inv3]);
    const welcomeS = w.sign(F, { t: "announce", text: "welcome" }, [joinS]);
    const X = w.signer();
    const Y = w.signer();
    const joinX = w.sign(X, joinBody(X.actor, w.gid(), seed, "x"), [inv], { posted: false });
    const joinY = w.sign(Y, joinBody(Y.actor, w.gid(), s2.seed, "y"), [inv2], { posted: false });
    const yAck = w.sign(Y, { t: "announce", text: "ack x" }, [joinX], { posted: false });
    const xAck = w.sign(X, { t: "announce", text: "ack y" }, [joinY, yAck], { posted: false });
    const annX = w.sign(X, { t: "announce", text: "send funds to X" }, [xAck], { posted: false });
    const mutual = verifyAnnouncement(w.crypto, makeProof(annX, w.genesis, [inv, inv2, joinX, joinY, yAck, xAck]));
    expect(mutual.status).toBe("UNPROVEN");
    // The seedling S is a proven member, but ranks below admin: its event citing X's join is no witness.
    const sAck = w.sign(S, { t: "announce", text: "ack" }, [joinX], { posted: false });
    const annX2 = w.sign(X, { t: "announce", text: "send funds to X" }, [sAck], { posted: false });
    const puppet = verifyAnnouncement(w.crypto, makeProof(annX2, w.genesis, [inv, inv3, joinS, welcomeS, joinX, sAck]));
    expect(puppet.status).toBe("UNPROVEN");
    expect(puppet.headline).toContain("has no witness");
  });

  it("through the CLI, pinned with --pursuance and --founder, the stranger's announcement and profile exit non-zero", async () => {
    const { w, F, inv, seed } = await pursuance();
    const X: Signer = w.signer();
    const joinX = w.sign(X, joinBody(X.actor, w.gid(), seed, "alice"), [inv], { posted: false });
    for (const body of [{ t: "announce", text: "New donation address: X" }, { t: "profile.set", mission: "m", join: "join via @evil:hs", rooms: [] }] as const) {
      const ev: SignedEvent = w.sign(X, body as never, [joinX], { posted: false });
      const proof = makeProof(ev, w.genesis, [inv, joinX]);
      const pa = { id: toHex(ev.id), author: X.hex, authorName: "alice", ts: ev.ts, text: body.t === "announce" ? body.text : profileText({ ...body, rooms: [] }), proof, ...(body.t === "profile.set" ? { kind: "profile" as const } : {}) };
      const lines: string[] = [];
      const code = await runVerifyAnnouncement(["--pursuance", w.gid(), "--founder", F.hex, "-"], { out: (l) => lines.push(l), err: (l) => lines.push(l) }, () => announcementMessage("p", pa).plain);
      expect(code, lines.join("\n")).not.toBe(0);
      expect(lines.join("\n")).toContain("UNPROVEN");
    }
  });
});
