// A key taken out of band (a welcome) stands whatever the log says, also after a restart (atk18):
// the store did not say which keys came outside the log, so a reopened client dropped a welcome
// key that a rejected share also sealed to it, while the live client kept it.
import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { fromHex, toHex } from "../src/cwtch/bytes.js";
import { signEvent } from "../src/cwtch/message.js";
import { KeyRing } from "../src/pursuance/keyring.js";
import { genesisBody } from "../src/pursuance/actions.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { memoryStore } from "../src/pursuance/ports.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { epochOfKeyId } from "../src/pursuance/state.js";

describe("reopen vs live key custody", () => {
  it("a restarted joiner keeps a welcome key that a rejected share also seals to it", async () => {
    const crypto = await loadCrypto();
    const F = crypto.signKeyPair(crypto.randomBytes(32));
    const V = crypto.signKeyPair(crypto.randomBytes(32));
    const fHex = toHex(F.publicKey), vHex = toHex(V.publicKey);
    const groupId = crypto.randomBytes(32);
    const ring = new KeyRing(crypto, F);
    const actor = { crypto, identity: F, me: fHex, ring };
    const gen = genesisBody(actor, { name: "p", founderName: "f" });
    const K = ring.scope("group")[0]!;
    const epoch = epochOfKeyId(K.keyId);
    const now = Date.now();
    const e1 = signEvent(crypto, { group: groupId, epoch, author: F.publicKey, seq: 1, prev: new Uint8Array(32), ts: now, deps: [], body: encodeBody(gen) }, F.secretKey);
    // The founder seals the group key to V, who is no member: the fold rejects it.
    const share: Body = { t: "keys.share", to: vHex, keys: [ring.seal("group", K.keyId, V.publicKey)] } as Body;
    const e2 = signEvent(crypto, { group: groupId, epoch, author: F.publicKey, seq: 2, prev: e1.id, ts: now + 1, deps: [], body: encodeBody(share) }, F.secretKey);
    const store = memoryStore();
    await store.saveEvents([e1, e2].map((e) => ({ id: toHex(e.id), bytes: e.bytes })));
    const ports = { crypto, now: () => now + 10, connect: () => { throw new Error("no relays in this test"); }, store, setTimer: (() => ({ cancel() {} })) as any };
    const config = { pursuanceId: toHex(e1.id), groupId: toHex(groupId), relays: ["ws://x"], name: "p" };

    // Live client: events folded, then the welcome (out of band) gives it K.
    const live = await PursuanceClient.open(ports as any, V, { ...config });
    expect(live.fold.verdict(toHex(e2.id))).not.toBeNull(); // the share is rejected
    await live.takeWelcome([ring.seal("group", K.keyId, V.publicKey)]).catch(() => {});
    expect(live.ring.get(K.keyId)).toBeDefined();
    // The welcome key is now in the store (KeyCustody.sync saved it).
    expect((await store.loadKeys()).length).toBeGreaterThan(0);

    // Same member, same store, after a restart.
    const again = await PursuanceClient.open(ports as any, V, { ...config });
    expect(again.hash()).toBe(live.hash());
    expect(live.ring.get(K.keyId)).toBeDefined();
    expect(again.ring.get(K.keyId)).toBeDefined();
    expect((await store.loadKeys()).find((k) => k.scope === "group")?.outOfBand).toBe(true);
  });
});
