// Links no backdating, grinding or third pursuance can steer (attacks 1-3 and 6-9): tasks, hellos, cross-link moves.
import { beforeAll, describe, expect, it } from "vitest";
import { fromHex, toB64, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { signEvent } from "../src/cwtch/message.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { acceptKeyPair, linkId, linkPeerBody, signAttest, signHello, signHelloProof } from "../src/pursuance/link.js";
import { stateHash } from "../src/pursuance/state-hash.js";
import { History, Rng, deliver, randomCausalOrder, randomChunks, type HMember } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});
let n = 0;
function sideEvent(kp: SignKeyPair, group: string, body: Body) {
  const ev = signEvent(crypto, { group: fromHex(group), epoch: 0, author: kp.publicKey, seq: 1, prev: new Uint8Array(32), ts: 1_700_000_000_000 + ++n, deps: [], body: encodeBody(body) }, kp.secretKey);
  return { ev: toB64(ev.bytes), id: toHex(ev.id) };
}
const verdict = (h: History, id: string) => h.fold().applied.find((a) => a.event.id === id)!.rejected ?? "APPLIED";
function orders(h: History, k = 30): number {
  const hashes = new Set<string>([stateHash(crypto, h.fold().state)]);
  const rng = new Rng(5);
  for (let i = 0; i < k; i++) {
    const ord = randomCausalOrder(h.events, rng);
    const chunks = i % 3 === 0 ? ord.map((e) => [e]) : i % 3 === 1 ? randomChunks(ord, rng, 4) : [ord];
    hashes.add(stateHash(crypto, deliver(h.foldCrypto, chunks, h.genesisId).fold.state));
  }
  return hashes.size;
}
const carry = (h: History, by: HMember, link: string, m: { ev: string; id: string }, speaker: SignKeyPair, role: string, seq = 0) =>
  h.emit(by, { t: "link.receive", link, ev: m.ev, role, attest: signAttest(crypto, speaker, link, m.id, role, seq), ...(seq ? { seq } : {}) })!;

/** B has accepted a link from a peer whose speaker is `speaker` (seed chosen here). */
function acceptInto(hB: History, FB: HMember, speaker: SignKeyPair, peer: string, relays: string[], s: number) {
  const lseed = new Rng(s).bytes(32);
  const link = linkId(crypto, lseed);
  hB.emit(FB, { t: "link.accept", link, seed: toB64(lseed), peer, name: "peer", relays, speaker: toHex(speaker.publicKey), roles: ["admin"], proof: signHelloProof(crypto, link, hB.genesisId!, FB.hex, new Rng(s + 1).bytes(32)) });
  return link;
}

describe("links", () => {
  it("another linked pursuance's speaker swallows A's move to B (crossSeen is shared by every link)", () => {
    const hB = new History(crypto, 21);
    const FB = hB.member("fB");
    const Sd = hB.member("sB");
    hB.genesis(FB);
    hB.addMember(FB, Sd, "seedling");
    const SA = crypto.signKeyPair(new Rng(1).bytes(32));
    const SC = crypto.signKeyPair(new Rng(2).bytes(32)); // the speaker of pursuance C, hostile to A
    const aId = new Rng(3).hex(32);
    const L1 = acceptInto(hB, FB, SA, aId, ["ws://a-home.example:1"], 100); // A -> B
    const L2 = acceptInto(hB, FB, SC, new Rng(4).hex(32), ["ws://c-home.example:1"], 200); // C -> B
    // A moves; A's speaker forwards the move over every link (also to C, if A is linked with C)
    const move = sideEvent(SA, aId, { t: "relays.set", relays: ["ws://a-new.example:1"], move: true });
    // C's speaker re-attests A's move as its own, on its link with B, and gets there first
    const stolen = carry(hB, Sd, L2, move, SC, "", 1);
    const real = carry(hB, Sd, L1, move, SA, "", 1);
    const st = hB.state();
    console.log(`OUTCOME cross-link move theft: C's=${verdict(hB, stolen.id)} | A's own forward=${verdict(hB, real.id)}; B posts to A at ${st.peers.get(L1)!.peerRelays.join(",")}, to C at ${st.peers.get(L2)!.peerRelays.join(",")}`);
    expect(orders(hB)).toBe(1);
    expect(st.peers.get(L1)!.peerRelays).toEqual(["ws://a-new.example:1"]);
  });

  it("a seedling of B carries forged, relabelled, tampered and replayed tasks: all refused", () => {
    const hB = new History(crypto, 22);
    const FB = hB.member("fB");
    const Sd = hB.member("sB");
    hB.genesis(FB);
    hB.addMember(FB, Sd, "seedling");
    const SA = crypto.signKeyPair(new Rng(11).bytes(32));
    const aId = new Rng(12).hex(32);
    const L = acceptInto(hB, FB, SA, aId, ["ws://a.example:1"], 300);
    const t = sideEvent(SA, aId, { t: "task.send", link: L, title: "do it", body: "" });
    const forged = carry(hB, Sd, L, t, Sd.kp, "admin");
    const relabel = hB.emit(Sd, { t: "link.receive", link: L, ev: t.ev, role: "primary", attest: signAttest(crypto, SA, L, t.id, "admin", 0) })!;
    const wrongRole = carry(hB, Sd, L, t, SA, "seedling"); // A's speaker attests a role the link does not allow
    const ok = carry(hB, Sd, L, t, SA, "admin");
    const replay = carry(hB, Sd, L, t, SA, "admin");
    const otherLink = sideEvent(SA, aId, { t: "task.send", link: new Rng(13).hex(32), title: "for someone else", body: "" });
    const other = carry(hB, Sd, L, otherLink, SA, "admin");
    const vs = [forged, relabel, wrongRole, ok, replay, other].map((e) => verdict(hB, e.id));
    console.log(`OUTCOME tasks across: forged=${vs[0]} | relabel=${vs[1]} | disallowed role=${vs[2]} | real=${vs[3]} | replay=${vs[4]} | other link=${vs[5]}`);
    expect(vs[3]).toBe("APPLIED");
    expect([vs[0], vs[1], vs[2], vs[4], vs[5]].every((v) => v !== "APPLIED")).toBe(true);
  });

  it("hellos: a seedling of A, a member of B reading the proof, and the token holder after B all fail to name a false peer", () => {
    const hA = new History(crypto, 23);
    const FA = hA.member("fA");
    const SdA = hA.member("sA");
    hA.genesis(FA);
    hA.addMember(FA, SdA, "seedling");
    const secret = new Rng(31).bytes(32);
    const lseed = new Rng(32).bytes(32);
    const L = linkId(crypto, lseed);
    hA.emit(FA, { t: "link.offer", link: L, seed: toB64(lseed), roles: ["admin"], acceptKey: toHex(acceptKeyPair(crypto, secret).publicKey) });
    const bId = new Rng(33).hex(32);
    const SB = crypto.signKeyPair(new Rng(34).bytes(32));
    const evil = crypto.signKeyPair(new Rng(35).bytes(32));
    const real = signHello(crypto, { link: L, pursuanceId: bId, name: "B", relays: ["ws://b.example:1"], speaker: SB }, secret);
    // a seedling of A: no key, signs a proof with its own key
    const h1 = hA.emit(SdA, linkPeerBody(L, signHello(crypto, { link: L, pursuanceId: new Rng(36).hex(32), name: "E", relays: ["ws://e.example:1"], speaker: evil }, new Rng(37).bytes(32))))!;
    // a member of B who read the proof in B's log: changes the relays
    const h2 = hA.emit(SdA, linkPeerBody(L, { ...real, relays: ["ws://evil.example:1"] }))!;
    // B's own proof with another speaker
    const h3 = hA.emit(SdA, linkPeerBody(L, { ...real, speaker: toHex(evil.publicKey) }))!;
    const h4 = hA.emit(SdA, linkPeerBody(L, real))!;
    // the token holder's own hello, after B's
    const h5 = hA.emit(SdA, linkPeerBody(L, signHello(crypto, { link: L, pursuanceId: new Rng(38).hex(32), name: "T", relays: ["ws://t.example:1"], speaker: evil }, secret)))!;
    const vs = [h1, h2, h3, h4, h5].map((e) => verdict(hA, e.id));
    console.log(`OUTCOME hellos: seedling=${vs[0]} | relays changed=${vs[1]} | speaker changed=${vs[2]} | real=${vs[3]} | token holder after=${vs[4]}`);
    expect(vs[3]).toBe("APPLIED");
    expect([vs[0], vs[1], vs[2], vs[4]].every((v) => v !== "APPLIED")).toBe(true);
    expect(orders(hA)).toBe(1);
  });

  it("speaker succession under concurrent removal and demotion: one speaker in every order, never a seedling", () => {
    const hA = new History(crypto, 24);
    const F = hA.member("f");
    const A1 = hA.member("a1");
    const A2 = hA.member("a2");
    const Sd = hA.member("sd");
    hA.genesis(F);
    hA.addMember(F, A1, "admin");
    hA.addMember(F, A2, "admin");
    hA.addMember(F, Sd, "seedling");
    const lseed = new Rng(41).bytes(32);
    const L = linkId(crypto, lseed);
    hA.emit(A1, { t: "link.offer", link: L, seed: toB64(lseed), roles: ["admin"], acceptKey: toHex(acceptKeyPair(crypto, new Rng(42).bytes(32)).publicKey) });
    const at = hA.tips();
    hA.remove(F, A1, at);
    hA.revoke(A2, A1, "admin", at); // concurrent demotion by another admin
    hA.revoke(F, A2, "admin", at); // and the other admin demoted concurrently
    hA.emit(Sd, { t: "task.comment", task: "00".repeat(32), text: "x" } as unknown as Body, at);
    const sp = hA.state().peers.get(L)!;
    const k = orders(hA, 40);
    console.log(`OUTCOME succession: speaker=${hA.byHex(sp.speaker)?.name} seq=${sp.speakerSeq}, distinct states=${k}`);
    expect(k).toBe(1);
    expect(hA.byHex(sp.speaker)?.name).toBe("f");
  });
  it("honest: B holds two links from A (say, different roles); A's move is forwarded over both and B follows it on both", () => {
    const hB = new History(crypto, 25);
    const FB = hB.member("fB");
    hB.genesis(FB);
    const SA = crypto.signKeyPair(new Rng(51).bytes(32));
    const aId = new Rng(52).hex(32);
    const L1 = acceptInto(hB, FB, SA, aId, ["ws://a-home.example:1"], 500);
    const L2 = acceptInto(hB, FB, SA, aId, ["ws://a-home.example:1"], 600);
    const move = sideEvent(SA, aId, { t: "relays.set", relays: ["ws://a-new.example:1"], move: true });
    const v1 = carry(hB, FB, L1, move, SA, "", 1);
    const v2 = carry(hB, FB, L2, move, SA, "", 1);
    const st = hB.state();
    console.log(`OUTCOME two links one move: L1=${verdict(hB, v1.id)} | L2=${verdict(hB, v2.id)}; B posts over L2 to ${st.peers.get(L2)!.peerRelays.join(",")}`);
    expect(st.peers.get(L1)!.peerRelays).toEqual(["ws://a-new.example:1"]);
    expect(st.peers.get(L2)!.peerRelays).toEqual(["ws://a-new.example:1"]);
  });

  it("after B's hello named the peer, the token holder's hello carried backdated by a seedling of A takes the link over (docs: 'after B accepts, its hello is refused')", () => {
    const hA = new History(crypto, 26);
    const FA = hA.member("fA");
    const SdA = hA.member("sA");
    hA.genesis(FA);
    hA.addMember(FA, SdA, "seedling");
    const secret = new Rng(61).bytes(32);
    const lseed = new Rng(62).bytes(32);
    const L = linkId(crypto, lseed);
    hA.emit(FA, { t: "link.offer", link: L, seed: toB64(lseed), roles: ["primary"], acceptKey: toHex(acceptKeyPair(crypto, secret).publicKey) });
    const before = hA.tips();
    const bId = new Rng(63).hex(32);
    const SB = crypto.signKeyPair(new Rng(64).bytes(32));
    const real = hA.emit(FA, linkPeerBody(L, signHello(crypto, { link: L, pursuanceId: bId, name: "B", relays: ["ws://b.example:1"], speaker: SB }, secret)))!;
    const sent = hA.emit(FA, { t: "task.send", link: L, title: "work for B", body: "" })!;
    // later: the token's holder T (who kept a copy) and a seedling of A who carries its hello citing only pre-hello heads, id ground low
    const T = crypto.signKeyPair(new Rng(65).bytes(32));
    const evil = hA.emit(SdA, linkPeerBody(L, signHello(crypto, { link: L, pursuanceId: new Rng(66).hex(32), name: "T", relays: ["ws://t.example:1"], speaker: T }, secret)), before, { grind: 2000, ts: real.ts - 60_000 })!;
    const l = hA.state().peers.get(L)!;
    console.log(`OUTCOME backdated token-holder hello: real=${verdict(hA, real.id)} | token holder's=${verdict(hA, evil.id)} | A's peer is ${l.peerName} at ${l.peerRelays.join(",")} | A's earlier send=${verdict(hA, sent.id)}`);
    expect(orders(hA)).toBe(1);
    expect(l.peerName).toBe("B");
  });
});
