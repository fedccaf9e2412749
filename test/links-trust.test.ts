// Links that no insider can hijack (issue 11 review): the peer is named only
// by a hello signed with the token's secret, which never enters the
// offerer's log; the other side stops trusting a speaker once a handover by
// it, or an entitled member's confirmation, names the next one; a move is
// taken by the speaker's signed sequence number, never by its claimed time.
// Fold-level here (every delivery order); client-level with real relays in
// links-trust-client.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import { toB64, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { signEvent } from "../src/cwtch/message.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { acceptKeyPair, linkId, linkPeerBody, signAttest, signHandover, signHello } from "../src/pursuance/link.js";
import { converge, expectApplied, expectRejected, History } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

function foreign(author: SignKeyPair, seq: number, body: Body, ts = 1_000 + seq): { id: string; b64: string } {
  const ev = signEvent(crypto, { group: crypto.randomBytes(32), epoch: 0, author: author.publicKey, seq, prev: seq === 1 ? new Uint8Array(32) : crypto.randomBytes(32), ts, deps: [], body: encodeBody(body) }, author.secretKey);
  return { id: toHex(ev.id), b64: toB64(ev.bytes) };
}

describe("the offering side names its peer only from a hello proven with the token's secret", () => {
  it("a seedling's hello (no token secret), a hello with another speaker's signature, a second hello and one for an offer without an accept key are refused; the real one applies, carried by any member", () => {
    const h = new History(crypto, 41);
    const F = h.member("ada");
    const S = h.member("seedling");
    h.genesis(F);
    h.addMember(F, S, "seedling");
    const seed = crypto.randomBytes(32);
    const secret = crypto.randomBytes(32);
    const link = linkId(crypto, seed);
    const acceptKey = toHex(acceptKeyPair(crypto, secret).publicKey);
    const offer = h.emit(F, { t: "link.offer", link, seed: toB64(seed), acceptKey, roles: ["admin"] });

    // The seedling holds the seed (it is in the log), not the secret: its own key stands in.
    const fake = crypto.signKeyPair();
    const fakeHello = signHello(crypto, { link, pursuanceId: "ee".repeat(32), name: "Fake", relays: ["ws://127.0.0.1:9"], speaker: fake }, crypto.randomBytes(32));
    const bySpeaker = h.emit(F, linkPeerBody(link, fakeHello));
    const bySeedling = h.emit(S, linkPeerBody(link, fakeHello));

    const bSpeaker = crypto.signKeyPair();
    const real = signHello(crypto, { link, pursuanceId: "bb".repeat(32), name: "Beta", relays: ["ws://127.0.0.1:2"], speaker: bSpeaker }, secret);
    // The proof binds the pursuance and speaker; the speaker's signature binds the rest (a changed name or relays fails).
    const otherSpeaker = h.emit(S, linkPeerBody(link, { ...real, relays: ["ws://attacker:1"] }));
    const good = h.emit(S, linkPeerBody(link, real));
    const again = signHello(crypto, { link, pursuanceId: "cc".repeat(32), name: "Gamma", relays: ["ws://127.0.0.1:3"], speaker: fake }, secret);
    const second = h.emit(F, linkPeerBody(link, again));

    // An offer from before accept keys: no hello can name its peer.
    const seedOld = crypto.randomBytes(32);
    const oldLink = linkId(crypto, seedOld);
    h.emit(F, { t: "link.offer", link: oldLink, seed: toB64(seedOld), roles: ["admin"] });
    const onOld = h.emit(F, linkPeerBody(oldLink, signHello(crypto, { link: oldLink, pursuanceId: "bb".repeat(32), name: "Beta", relays: ["ws://127.0.0.1:2"], speaker: bSpeaker }, secret)));

    const f = converge(crypto, h, 15, 41);
    expectApplied(f, offer);
    expectRejected(f, onOld, /no accept key/);
    expectRejected(f, bySpeaker, /not signed with the link's accept key/);
    expectRejected(f, bySeedling, /not signed with the link's accept key/);
    expectRejected(f, otherSpeaker, /not signed by the speaker it names/);
    expectApplied(f, good);
    expectRejected(f, second, /already has its peer/);
    expect(f.state.peers.get(link)).toMatchObject({ peer: "bb".repeat(32), peerName: "Beta", peerSpeaker: toHex(bSpeaker.publicKey) });
  });
});

describe("a speaker its side removed is not trusted after the next one is named", () => {
  it("the offering side names a successor deterministically when its speaker is removed or demoted", () => {
    const h = new History(crypto, 42);
    const F = h.member("ada");
    const X = h.member("al");
    const Y = h.member("ann");
    h.genesis(F);
    h.addMember(F, X, "admin");
    h.addMember(F, Y, "admin");
    const Z = h.member("amy");
    h.addMember(F, Z, "admin");
    const seed = crypto.randomBytes(32);
    const link = linkId(crypto, seed);
    h.emit(X, { t: "link.offer", link, seed: toB64(seed), acceptKey: toHex(crypto.signKeyPair().publicKey), roles: ["admin"] });
    h.revoke(F, X, "admin");
    const f1 = converge(crypto, h, 10, 42);
    expect(f1.state.peers.get(link)).toMatchObject({ speaker: F.hex, speakerSeq: 1 });
    // The author is not entitled (it left): the entitled member with the smallest key, as every client computes it.
    const seed2 = crypto.randomBytes(32);
    const link2 = linkId(crypto, seed2);
    h.emit(Y, { t: "link.offer", link: link2, seed: toB64(seed2), acceptKey: toHex(crypto.signKeyPair().publicKey), roles: ["admin"] });
    h.emit(Y, { t: "leave" });
    const f2 = converge(crypto, h, 10, 43);
    expect(f2.state.peers.get(link)).toMatchObject({ speaker: F.hex, speakerSeq: 1, prevSpeaker: X.hex });
    expect(f2.state.peers.get(link2)).toMatchObject({ speaker: [F.hex, Z.hex].sort()[0], speakerSeq: 1, prevSpeaker: Y.hex });
  });

  it("the receiving side takes a new speaker by the old one's handover or an entitled member's word; the old one's attestations are refused after", () => {
    const h = new History(crypto, 43);
    const F = h.member("bea");
    const S = h.member("bo");
    h.genesis(F);
    h.addMember(F, S, "seedling");
    const old = crypto.signKeyPair();
    const next = crypto.signKeyPair();
    const third = crypto.signKeyPair();
    const aAdmin = crypto.signKeyPair();
    const seed = crypto.randomBytes(32);
    const link = linkId(crypto, seed);
    h.emit(F, { t: "link.accept", link, seed: toB64(seed), peer: "ab".repeat(32), name: "Alpha", relays: ["ws://127.0.0.1:1"], speaker: toHex(old.publicKey), roles: ["admin"] });
    const t1 = foreign(aAdmin, 1, { t: "task.send", link, title: "before", body: "" });
    const before = h.emit(S, { t: "link.receive", link, ev: t1.b64, role: "admin", attest: signAttest(crypto, old, link, t1.id, "admin", 0) });
    // Not by the speaker: a handover signed by anyone else is refused, as is a seedling's bare word.
    const forgedHandover = h.emit(S, { t: "link.speaker", link, speaker: toHex(third.publicKey), seq: 1, handover: signHandover(crypto, third, link, 1, toHex(third.publicKey)) });
    const seedlingWord = h.emit(S, { t: "link.speaker", link, speaker: toHex(third.publicKey), seq: 1 });
    const handover = h.emit(S, { t: "link.speaker", link, speaker: toHex(next.publicKey), seq: 1, handover: signHandover(crypto, old, link, 1, toHex(next.publicKey)) });
    const replayed = h.emit(S, { t: "link.speaker", link, speaker: toHex(next.publicKey), seq: 1, handover: signHandover(crypto, old, link, 1, toHex(next.publicKey)) });
    const t2 = foreign(aAdmin, 2, { t: "task.send", link, title: "by the old speaker", body: "" });
    const stale = h.emit(S, { t: "link.receive", link, ev: t2.b64, role: "admin", attest: signAttest(crypto, old, link, t2.id, "admin", 0) });
    const t3 = foreign(aAdmin, 3, { t: "task.send", link, title: "by the new speaker", body: "" });
    const fresh = h.emit(S, { t: "link.receive", link, ev: t3.b64, role: "admin", attest: signAttest(crypto, next, link, t3.id, "admin", 0) });
    // The removed-speaker case: the old one will not hand over; B's entitled member confirms out of band.
    const confirmed = h.emit(F, { t: "link.speaker", link, speaker: toHex(third.publicKey), seq: 2 });
    const t4 = foreign(aAdmin, 4, { t: "task.send", link, title: "by the second speaker after", body: "" });
    const stale2 = h.emit(S, { t: "link.receive", link, ev: t4.b64, role: "admin", attest: signAttest(crypto, next, link, t4.id, "admin", 0) });

    const f = converge(crypto, h, 15, 44);
    expectApplied(f, before);
    expectRejected(f, forgedHandover, /handover is not signed by the current speaker/);
    expectRejected(f, seedlingWord, /rules\.change/);
    expectApplied(f, handover);
    expectRejected(f, replayed, /sequence 1 is not the next/);
    expectRejected(f, stale, /not by the other side's speaker/);
    expectApplied(f, fresh);
    expectApplied(f, confirmed);
    expectRejected(f, stale2, /not by the other side's speaker/);
    expect(f.state.peers.get(link)).toMatchObject({ peerSpeaker: toHex(third.publicKey), peerSpeakerSeq: 2 });
  });
});

describe("moves are ordered by the speaker's signed sequence, not their claimed time", () => {
  it("a move dated far in the future does not outrank a later one; an older sequence carried late changes nothing; a relabelled sequence fails", () => {
    const h = new History(crypto, 44);
    const F = h.member("bea");
    h.genesis(F);
    const sp = crypto.signKeyPair();
    const mover = crypto.signKeyPair();
    const seed = crypto.randomBytes(32);
    const link = linkId(crypto, seed);
    h.emit(F, { t: "link.accept", link, seed: toB64(seed), peer: "ab".repeat(32), name: "Alpha", relays: ["ws://127.0.0.1:1"], speaker: toHex(sp.publicKey), roles: ["admin"] });
    const future = foreign(mover, 1, { t: "relays.set", relays: ["ws://attacker:1"], move: true }, Date.UTC(2099, 0, 1));
    const later = foreign(mover, 2, { t: "relays.set", relays: ["ws://127.0.0.1:5"], move: true }, 2_000);
    const older = foreign(mover, 3, { t: "relays.set", relays: ["ws://old:1"], move: true }, 3_000);
    const m1 = h.emit(F, { t: "link.receive", link, ev: future.b64, role: "", attest: signAttest(crypto, sp, link, future.id, "", 1), seq: 1 });
    const m2 = h.emit(F, { t: "link.receive", link, ev: later.b64, role: "", attest: signAttest(crypto, sp, link, later.id, "", 2), seq: 2 });
    const relabelled = h.emit(F, { t: "link.receive", link, ev: older.b64, role: "", attest: signAttest(crypto, sp, link, older.id, "", 1), seq: 3 });
    const m3 = h.emit(F, { t: "link.receive", link, ev: older.b64, role: "", attest: signAttest(crypto, sp, link, older.id, "", 1), seq: 1 });
    const f = converge(crypto, h, 15, 45);
    expectApplied(f, m1);
    expectApplied(f, m2);
    expectRejected(f, relabelled, /not by the other side's speaker/);
    expectRejected(f, m3, /move 1 is not newer than move 2/);
    expect(f.state.peers.get(link)).toMatchObject({ peerRelays: ["ws://127.0.0.1:5"], peerRelaysSeq: 2 });
  });

  it("a move a replaced speaker numbered absurdly high does not outlive it: a new speaker starts the count again from where the link began", () => {
    const h = new History(crypto, 45);
    const F = h.member("bea");
    h.genesis(F);
    const old = crypto.signKeyPair();
    const next = crypto.signKeyPair();
    const mover = crypto.signKeyPair();
    const seed = crypto.randomBytes(32);
    const link = linkId(crypto, seed);
    h.emit(F, { t: "link.accept", link, seed: toB64(seed), peer: "ab".repeat(32), name: "Alpha", relays: ["ws://127.0.0.1:1"], speaker: toHex(old.publicKey), roles: ["admin"] });
    const hijack = foreign(mover, 1, { t: "relays.set", relays: ["ws://attacker:1"], move: true });
    const m1 = h.emit(F, { t: "link.receive", link, ev: hijack.b64, role: "", attest: signAttest(crypto, old, link, hijack.id, "", 1e12), seq: 1e12 });
    const f1 = converge(crypto, h, 5, 46);
    expectApplied(f1, m1);
    expect(f1.state.peers.get(link)!.peerRelays).toEqual(["ws://attacker:1"]);
    h.emit(F, { t: "link.speaker", link, speaker: toHex(next.publicKey), seq: 1 });
    const f2 = converge(crypto, h, 5, 47);
    expect(f2.state.peers.get(link)).toMatchObject({ peerRelays: ["ws://127.0.0.1:1"], peerRelaysSeq: 0 });
    const legit = foreign(mover, 2, { t: "relays.set", relays: ["ws://127.0.0.1:5"], move: true });
    const m2 = h.emit(F, { t: "link.receive", link, ev: legit.b64, role: "", attest: signAttest(crypto, next, link, legit.id, "", 2), seq: 2 });
    const f3 = converge(crypto, h, 10, 48);
    expectApplied(f3, m2);
    expect(f3.state.peers.get(link)).toMatchObject({ peerRelays: ["ws://127.0.0.1:5"], peerRelaysSeq: 2 });
  });
});
