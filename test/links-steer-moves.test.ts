// Moves over a link across speaker changes, and a handover racing a confirmation (attacks 3, 8, 9).
import { describe, expect, it, beforeAll } from "vitest";
import { fromHex, toB64, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { signEvent } from "../src/cwtch/message.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { linkId, signAttest, signHandover, signHelloProof } from "../src/pursuance/link.js";
import { stateHash } from "../src/pursuance/state-hash.js";
import { History, Rng, deliver, randomCausalOrder, randomChunks, type HMember } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

const HOME = ["ws://a-home.example:1"];
let innerSeq = 0;
/** An event of side A, really signed (what a speaker forwards). */
function aEvent(kp: SignKeyPair, group: string, body: Body) {
  const ev = signEvent(crypto, { group: fromHex(group), epoch: 0, author: kp.publicKey, seq: 1, prev: new Uint8Array(32), ts: 1_700_000_000_000 + ++innerSeq, deps: [], body: encodeBody(body) }, kp.secretKey);
  return { ev: toB64(ev.bytes), id: toHex(ev.id) };
}

function setup(seed: number) {
  const hB = new History(crypto, seed);
  const FB = hB.member("founderB");
  const Sd = hB.member("seedlingB");
  hB.genesis(FB);
  hB.addMember(FB, Sd, "seedling");
  const S1 = crypto.signKeyPair(new Rng(seed + 7).bytes(32));
  const S2 = crypto.signKeyPair(new Rng(seed + 8).bytes(32));
  const aGroup = new Rng(seed + 9).hex(32);
  const lseed = new Rng(seed + 10).bytes(32);
  const link = linkId(crypto, lseed);
  const proof = signHelloProof(crypto, link, hB.genesisId!, FB.hex, new Rng(seed + 11).bytes(32));
  hB.emit(FB, { t: "link.accept", link, seed: toB64(lseed), peer: aGroup, name: "A", relays: HOME, speaker: toHex(S1.publicKey), roles: ["admin"], proof });
  return { hB, FB, Sd, S1, S2, aGroup, link };
}

const carry = (h: History, by: HMember, link: string, m: { ev: string; id: string }, speaker: SignKeyPair, seq: number, role = "") =>
  h.emit(by, { t: "link.receive", link, ev: m.ev, role, attest: signAttest(crypto, speaker, link, m.id, role, seq), ...(seq ? { seq } : {}) })!;
const handover = (h: History, by: HMember, link: string, from: SignKeyPair, to: SignKeyPair, seq: number) =>
  h.emit(by, { t: "link.speaker", link, speaker: toHex(to.publicKey), seq, handover: signHandover(crypto, from, link, seq, toHex(to.publicKey)) })!;

function verdict(h: History, id: string): string | null {
  return h.fold().applied.find((a) => a.event.id === id)!.rejected;
}

/** Every arrival order gives the same state (one-by-one, batches, fresh). */
function orders(h: History, n = 30): Set<string> {
  const hashes = new Set<string>([stateHash(crypto, h.fold().state)]);
  const rng = new Rng(99);
  for (let i = 0; i < n; i++) {
    const ord = randomCausalOrder(h.events, rng);
    const chunks = i % 3 === 0 ? ord.map((e) => [e]) : i % 3 === 1 ? randomChunks(ord, rng, 4) : [ord];
    hashes.add(stateHash(crypto, deliver(h.foldCrypto, chunks, h.genesisId).fold.state));
  }
  return hashes;
}

describe("moves over a link across speaker changes", () => {
  it("the new speaker's re-forward of the latest move is taken (docs: 'the new speaker re-forwards its side's latest move under its own count')", () => {
    const { hB, Sd, S1, S2, aGroup, link } = setup(1);
    const mNew = aEvent(S1, aGroup, { t: "relays.set", relays: ["ws://a-new.example:1"], move: true });
    const took = carry(hB, Sd, link, mNew, S1, 1);
    expect(verdict(hB, took.id)).toBeNull();
    handover(hB, Sd, link, S1, S2, 1);
    const refwd = carry(hB, Sd, link, mNew, S2, 1);
    const v = verdict(hB, refwd.id);
    const relays = hB.state().peers.get(link)!.peerRelays;
    console.log(`OUTCOME re-forward after speaker change: verdict=${v ?? "applied"}; B now posts to ${relays.join(",")} (A lives at ws://a-new.example:1)`);
    expect(orders(hB).size).toBe(1);
    expect(relays).toEqual(["ws://a-new.example:1"]);
  });

  it("a seedling of B replays an older move the speaker attested long ago, after the speaker came back (docs: 'an older move carried late is refused')", () => {
    const { hB, Sd, S1, S2, aGroup, link } = setup(2);
    const mOld = aEvent(S1, aGroup, { t: "relays.set", relays: ["ws://a-abandoned.example:1"], move: true });
    const mNew = aEvent(S1, aGroup, { t: "relays.set", relays: ["ws://a-new.example:1"], move: true });
    const oldAtt = signAttest(crypto, S1, link, mOld.id, "", 1); // seen on the channel by anyone holding the seed
    carry(hB, Sd, link, mNew, S1, 2);
    // the old one, carried late, is refused (and, being refused, not remembered)
    const late = hB.emit(Sd, { t: "link.receive", link, ev: mOld.ev, role: "", attest: oldAtt, seq: 1 })!;
    expect(verdict(hB, late.id)).not.toBeNull();
    // A's speaker changes S1 -> S2 -> S1 (e.g. demoted and re-promoted), both handed over honestly
    handover(hB, Sd, link, S1, S2, 1);
    handover(hB, Sd, link, S2, S1, 2);
    // S1 re-forwards its side's latest move, as the docs say it does
    const refwd = carry(hB, Sd, link, mNew, S1, 2);
    // the seedling replays the stale frame it kept
    const replay = hB.emit(Sd, { t: "link.receive", link, ev: mOld.ev, role: "", attest: oldAtt, seq: 1 })!;
    const relays = hB.state().peers.get(link)!.peerRelays;
    console.log(`OUTCOME stale-move replay after S1->S2->S1: re-forward=${verdict(hB, refwd.id) ?? "applied"}, replay=${verdict(hB, replay.id) ?? "APPLIED"}; B posts to ${relays.join(",")}`);
    expect(orders(hB).size).toBe(1);
    expect(relays).not.toEqual(["ws://a-abandoned.example:1"]);
  });

  it("a seedling of B cannot replace A's speaker by bare word or by a replayed handover", () => {
    const { hB, Sd, S1, S2, link } = setup(3);
    const bare = hB.emit(Sd, { t: "link.speaker", link, speaker: toHex(S2.publicKey), seq: 1 })!;
    const h1 = handover(hB, Sd, link, S1, S2, 1);
    const back = handover(hB, Sd, link, S2, S1, 2);
    // replay h1 (S1 -> S2 at seq 1) now that S1 is speaker again: seq must be 3
    const rep = hB.emit(Sd, { t: "link.speaker", link, speaker: toHex(S2.publicKey), seq: 1, handover: signHandover(crypto, S1, link, 1, toHex(S2.publicKey)) })!;
    const vs = [bare, h1, back, rep].map((e) => verdict(hB, e.id) ?? "applied");
    console.log(`OUTCOME seedling speaker change: bare=${vs[0]} | replayed handover=${vs[3]}`);
    expect(vs[0]).not.toBe("applied");
    expect(vs[3]).not.toBe("applied");
  });

  it("a turned speaker's handover to its own key, carried concurrently with B's confirmation, beats the confirmation (docs: 'B's confirmation overrides any handover, and the handed-to key is refused after it')", () => {
    const { hB, FB, Sd, S1, S2, aGroup, link } = setup(4);
    const K = crypto.signKeyPair(new Rng(444).bytes(32)); // the turned speaker's own key
    const at = hB.tips();
    // B's entitled member confirms A's real new speaker S2 (seq 1, as its client computes: peerSpeakerSeq + 1)
    const conf = hB.emit(FB, { t: "link.speaker", link, speaker: toHex(S2.publicKey), seq: 1 }, at)!;
    // concurrently, a seedling of B carries the turned speaker's handover to K (id ground low, as anyone may choose its id)
    const ho = hB.emit(Sd, { t: "link.speaker", link, speaker: toHex(K.publicKey), seq: 1, handover: signHandover(crypto, S1, link, 1, toHex(K.publicKey)) }, at, { grind: 2000, ts: conf.ts - 60_000 })!;
    // K then attests a task as A's speaker
    const t = aEvent(K, aGroup, { t: "task.send", link, title: "from the turned speaker", body: "" });
    const took = carry(hB, Sd, link, t, K, 0, "admin");
    const sp = hB.state().peers.get(link)!.peerSpeaker;
    console.log(`OUTCOME concurrent handover vs confirmation: confirmation=${verdict(hB, conf.id) ?? "applied"} | handover to K=${verdict(hB, ho.id) ?? "applied"} | K's task=${verdict(hB, took.id) ?? "APPLIED"} | B's speaker for A is ${sp === toHex(K.publicKey) ? "K (the turned speaker's key)" : sp === toHex(S2.publicKey) ? "S2" : sp}`);
    expect(orders(hB).size).toBe(1);
    expect(sp).toBe(toHex(S2.publicKey));
  });

  it("after B confirms A's new speaker, a seedling of B carries the removed speaker's forged attestation backdated (concurrent, id ground low) (docs: 'From then on the replaced speaker's attestations are refused')", () => {
    const { hB, FB, Sd, S1, S2, aGroup, link } = setup(5);
    const before = hB.tips();
    const conf = hB.emit(FB, { t: "link.speaker", link, speaker: toHex(S2.publicKey), seq: 1 })!;
    hB.task(FB, ["primary"], { title: "life goes on after the confirmation" });
    // days later: the removed speaker S1 attests a task nobody in A sent; a seedling of B carries it citing only pre-confirmation heads
    const forged = aEvent(S1, aGroup, { t: "task.send", link, title: "forged by the removed speaker", body: "" });
    const late = hB.emit(Sd, { t: "link.receive", link, ev: forged.ev, role: "admin", attest: signAttest(crypto, S1, link, forged.id, "admin", 0) }, before, { grind: 2000, ts: conf.ts - 60_000 })!;
    const v = verdict(hB, late.id) ?? "APPLIED";
    const got = hB.state().received.has(forged.id);
    console.log(`OUTCOME backdated carry of a removed speaker's attestation after the confirmation: ${v}; task in B: ${got}; distinct states=${orders(hB).size}`);
    expect(v).not.toBe("APPLIED");
  });

  it("a returning speaker's stale move carried before its re-forward is refused: each speaker's highest move count outlives its turn", () => {
    const { hB, Sd, S1, S2, aGroup, link } = setup(6);
    const mOld = aEvent(S1, aGroup, { t: "relays.set", relays: ["ws://a-abandoned.example:1"], move: true });
    const mNew = aEvent(S1, aGroup, { t: "relays.set", relays: ["ws://a-new.example:1"], move: true });
    const oldAtt = signAttest(crypto, S1, link, mOld.id, "", 1);
    carry(hB, Sd, link, mNew, S1, 2);
    handover(hB, Sd, link, S1, S2, 1);
    handover(hB, Sd, link, S2, S1, 2);
    // before S1 re-forwards, a seedling replays the stale frame (whose count is below S1's highest)
    const replay = hB.emit(Sd, { t: "link.receive", link, ev: mOld.ev, role: "", attest: oldAtt, seq: 1 })!;
    const refwd = carry(hB, Sd, link, mNew, S1, 2);
    expect(verdict(hB, replay.id)).toMatch(/older than move 2/);
    expect(verdict(hB, refwd.id)).toBeNull();
    expect(orders(hB).size).toBe(1);
    expect(hB.state().peers.get(link)!.peerRelays).toEqual(["ws://a-new.example:1"]);
  });

  it("concurrent hellos, handovers and carries with ground ids and backdated deps fold to one state in every order", () => {
    const { hB, FB, Sd, S1, S2, aGroup, link } = setup(7);
    const K = crypto.signKeyPair(new Rng(777).bytes(32));
    const at = hB.tips();
    const t1 = aEvent(S1, aGroup, { t: "task.send", link, title: "by S1", body: "" });
    const t2 = aEvent(S2, aGroup, { t: "task.send", link, title: "by S2", body: "" });
    hB.emit(FB, { t: "link.speaker", link, speaker: toHex(S2.publicKey), seq: 1 }, at);
    hB.emit(Sd, { t: "link.speaker", link, speaker: toHex(K.publicKey), seq: 1, handover: signHandover(crypto, S1, link, 1, toHex(K.publicKey)) }, at, { grind: 500 });
    hB.emit(Sd, { t: "link.receive", link, ev: t1.ev, role: "admin", attest: signAttest(crypto, S1, link, t1.id, "admin", 0) }, at, { grind: 500 });
    const ok = carry(hB, Sd, link, t2, S2, 0, "admin");
    expect(orders(hB, 40).size).toBe(1);
    expect(verdict(hB, ok.id)).toBeNull();
    expect(hB.state().received.has(t1.id)).toBe(false);
  });
});
