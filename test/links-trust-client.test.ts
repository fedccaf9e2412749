// Links that no insider can hijack, between in-process clients over real
// relays (real WebSockets, real libsodium): a seedling of the offering side
// cannot name the peer; a speaker that side removed is not trusted once the
// receiving side confirms the next one; a move dated far in the future does
// not outrank a later one; forged, replayed, misaddressed and oversized
// frames are refused with their reason and what follows is still taken.
import { afterAll, describe, expect, it } from "vitest";
import { toB64, toHex } from "../src/cwtch/bytes.js";
import { signEvent } from "../src/cwtch/message.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { linkRefusals } from "../src/pursuance/client/link-frames.js";
import { acceptLink, confirmPeerSpeaker, offerLink, sendTask } from "../src/pursuance/client/links.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { encodeBody } from "../src/pursuance/events.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { linkChannel, sealLinkMessage, signAttest, signHello, type LinkMessage } from "../src/pursuance/link.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const opts = { fallbackDutyMs: 300, repairDelayMs: 50, repairIntervalMs: 300 };

describe("links between two pursuances, attacked from inside (real relays)", () => {
  const relays: RelayServer[] = [];
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of relays) await r.close();
  });

  async function post(url: string, seed: string, m: LinkMessage | Uint8Array): Promise<void> {
    const keys = linkChannel((await ports()).crypto, seed);
    const r = new RelayClient({ url, crypto: (await ports()).crypto }).start();
    try {
      await r.post(keys.tag, m instanceof Uint8Array ? m : sealLinkMessage((await ports()).crypto, keys, m).blob);
    } finally {
      r.close();
    }
  }

  it("a seedling's hello names no peer; a removed speaker's attestation and forged frames are refused with reasons; a future-dated move does not outrank a later one", async () => {
    relays.push(await startRelay(), await startRelay({ maxBlobBytes: 256 * 1024 }));
    const [aUrl, bUrl] = relays.map((r) => r.url) as [string, string];
    let skew = 0;
    const adaPorts = { ...(await ports()), now: () => Date.now() + skew };
    const ada = await PursuanceClient.create(adaPorts, await identity(), { name: "Alpha", founderName: "ada", relays: [aUrl], ...opts });
    const bea = await PursuanceClient.create(await ports(), await identity(), { name: "Beta", founderName: "bea", relays: [bUrl], ...opts });
    clients.push(ada, bea);
    const al = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await ada.createInvite("admin"))), "al", opts);
    const ann = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await ada.createInvite("seedling"))), "ann", opts);
    clients.push(al, ann);
    const A = [ada, al, ann];
    await until("Alpha has three members", () => A.every((c) => c.state.members.size === 3), A);

    // al (admin) offers: al is Alpha's speaker. Every member holds the seed, the lowest role too.
    const token = await offerLink(al, ["primary", "admin"]);
    await until("ann sees the offer", () => ann.state.peers.size === 1, A);
    const l0 = ann.state.peers.get([...ann.state.peers.keys()][0]!)!;

    // Finding 1: ann says hello first, naming a pursuance of hers; she lacks the token's key.
    const annKey = ann.identity;
    const fake = signHello(ann.crypto, { link: l0.link, pursuanceId: "ee".repeat(32), name: "Fake Beta", relays: [aUrl], speaker: annKey }, ann.crypto.randomBytes(32));
    await post(aUrl, l0.seed, { k: "hello", ...fake });
    await Promise.all(A.map((c) => c.sync({ timeoutMs: 1_500, quietMs: 200 })));
    for (const c of A) expect(c.state.peers.get(l0.link)!.peer).toBeNull();
    expect(linkRefusals(al).map((r) => r.reason)).toContainEqual(expect.stringMatching(/not signed with the link's accept key/));

    const lb = await acceptLink(bea, token);
    await until("Alpha learns Beta from its proven hello", () => A.every((c) => c.state.peers.get(l0.link)!.peer === bea.id), [...A, bea]);
    expect(ada.state.peers.get(l0.link)).toMatchObject({ peerName: "Beta", peerSpeaker: bea.me });

    // A task from an admin goes through (the speaker attests it).
    const t1 = await sendTask(ada, ada.state.peers.get(l0.link)!, "first", "");
    await until("Beta takes the first task", () => bea.state.received.has(t1), [...A, bea]);

    // Forged, misaddressed, oversized and garbage frames on the channel at Beta's relay: refused with why, nothing changes.
    const linkBefore = structuredClone(bea.state.peers.get(l0.link));
    const seenBefore = bea.state.crossSeen.size;
    const forgedEv = signEvent(ann.crypto, { group: ann.crypto.randomBytes(32), epoch: 0, author: annKey.publicKey, seq: 1, prev: new Uint8Array(32), ts: 1, deps: [], body: encodeBody({ t: "task.send", link: l0.link, title: "forged", body: "" }) }, annKey.secretKey);
    const fid = toHex(forgedEv.id);
    await post(bUrl, l0.seed, { k: "msg", ev: toB64(forgedEv.bytes), role: "admin", attest: signAttest(ann.crypto, annKey, l0.link, fid, "admin", 0), seq: 0 });
    const otherLink = signEvent(ann.crypto, { group: ann.crypto.randomBytes(32), epoch: 0, author: annKey.publicKey, seq: 2, prev: ann.crypto.randomBytes(32), ts: 2, deps: [], body: encodeBody({ t: "task.send", link: "cd".repeat(32), title: "elsewhere", body: "" }) }, annKey.secretKey);
    await post(bUrl, l0.seed, { k: "msg", ev: toB64(otherLink.bytes), role: "admin", attest: signAttest(ann.crypto, annKey, l0.link, toHex(otherLink.id), "admin", 0), seq: 0 });
    await post(bUrl, l0.seed, ann.crypto.randomBytes(200));
    await post(bUrl, l0.seed, ann.crypto.randomBytes(120 * 1024));
    // A replay of the real task's frame is dropped quietly (a speaker re-sends after each restart).
    const t1ev = al.session.log.get(t1)!;
    await post(bUrl, l0.seed, { k: "msg", ev: toB64(t1ev.bytes), role: "primary", attest: signAttest(al.crypto, al.identity, l0.link, t1, "primary", 0), seq: 0 });
    await bea.sync({ timeoutMs: 1_500, quietMs: 300 });
    const reasons = linkRefusals(bea).map((r) => r.reason);
    expect(reasons).toContainEqual(expect.stringMatching(/not by the other side's speaker/));
    expect(reasons).toContainEqual(expect.stringMatching(/does not open with the link's channel key/));
    expect(reasons).toContainEqual(expect.stringMatching(/a frame of \d+ characters \(at most/));
    expect(reasons.filter((r) => /already received/.test(r))).toEqual([]);
    expect(bea.state.received.size).toBe(1);
    expect(bea.state.rejected).toEqual([]);
    expect(bea.state.peers.get(l0.link)).toEqual(linkBefore);
    expect(bea.state.crossSeen.size).toBe(seenBefore);

    // Finding 3: ada's clock runs ten years ahead for one relays.set; the next, at the right time, still wins at Beta.
    skew = 10 * 365 * 86_400_000;
    await ada.publish({ t: "relays.set", relays: [aUrl, "ws://127.0.0.1:9"] });
    skew = 0;
    await until("Beta follows the future-dated move", () => bea.state.peers.get(l0.link)!.peerRelays.length === 2, [...A, bea]);
    await ada.publish({ t: "relays.set", relays: [aUrl] });
    await until("Beta follows the later move", () => bea.state.peers.get(l0.link)!.peerRelays.length === 1, [...A, bea], 15_000);
    expect(bea.state.peers.get(l0.link)!.peerRelays).toEqual([aUrl]);

    // Finding 2: ada removes al, Alpha's speaker. Alpha's fold names ada (who acted); al's attestations stop counting
    // once a Beta member with rules.change confirms ada out of band (al, removed, will not hand over).
    // al's client stops: a hostile speaker runs no honest code that would hand over (al keeps its key and the seed).
    al.close();
    await ada.publish({ t: "remove", member: al.me, reason: "compromised" });
    await until("Alpha names ada its speaker", () => ada.state.peers.get(l0.link)!.speaker === ada.me, [ada, ann]);
    await until("Beta hears ada's claim", () => linkRefusals(bea).some((r) => r.kind === "speaker change" && r.reason.includes(ada.me)), [ada, bea]);
    expect(bea.state.peers.get(l0.link)!.peerSpeaker).toBe(al.me);
    await confirmPeerSpeaker(bea, bea.state.peers.get(l0.link)!, ada.me);
    const alTask = signEvent(al.crypto, { group: al.crypto.randomBytes(32), epoch: 0, author: al.identity.publicKey, seq: 9, prev: al.crypto.randomBytes(32), ts: 3, deps: [], body: encodeBody({ t: "task.send", link: l0.link, title: "from the removed speaker", body: "" }) }, al.identity.secretKey);
    await post(bUrl, l0.seed, { k: "msg", ev: toB64(alTask.bytes), role: "admin", attest: signAttest(al.crypto, al.identity, l0.link, toHex(alTask.id), "admin", 0), seq: 0 });
    const t2 = await sendTask(ada, ada.state.peers.get(l0.link)!, "after the removal", "");
    await until("Beta takes ada's task", () => bea.state.received.has(t2), [ada, bea]);
    expect(bea.state.received.has(toHex(alTask.id))).toBe(false);
    expect(bea.state.received.size).toBe(2);
    expect(bea.state.rejected).toEqual([]);
    void lb;
  }, 120_000);

  it("a demoted speaker whose client still runs hands over: the other side takes the next speaker with no confirmation", async () => {
    relays.push(await startRelay(), await startRelay());
    const [aUrl, bUrl] = relays.slice(-2).map((r) => r.url) as [string, string];
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "Alpha", founderName: "ada", relays: [aUrl], ...opts });
    const bea = await PursuanceClient.create(await ports(), await identity(), { name: "Beta", founderName: "bea", relays: [bUrl], ...opts });
    clients.push(ada, bea);
    const al = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await ada.createInvite("admin"))), "al", opts);
    clients.push(al);
    await until("Alpha has two members", () => [ada, al].every((c) => c.state.members.size === 2), [ada, al]);
    const token = await offerLink(al, ["primary", "admin"]);
    const lb = await acceptLink(bea, token);
    await until("linked", () => [ada, al].every((c) => c.state.peers.get(lb.link)?.peer === bea.id), [ada, al, bea]);
    await ada.publish({ t: "role.revoke", member: al.me, role: "admin" });
    await until("Beta takes al's handover to ada", () => bea.state.peers.get(lb.link)!.peerSpeaker === ada.me, [ada, al, bea]);
    expect(bea.state.peers.get(lb.link)).toMatchObject({ peerSpeakerSeq: 1 });
    const t = await sendTask(ada, ada.state.peers.get(lb.link)!, "from the new speaker", "");
    await until("Beta takes it", () => bea.state.received.has(t), [ada, bea]);
    expect(bea.state.rejected).toEqual([]);
  }, 60_000);
});
