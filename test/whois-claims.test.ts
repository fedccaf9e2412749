// Who is who where the bridge shows it: `!whois` and the room's trust notices
// judge a Matrix id by what the bridge can check (the account's confirmation,
// or a key it holds for that account), never by a claim nobody confirmed; and
// a flag goes when its basis goes. State from a real fold of signed events;
// the bridge's store and Matrix are small in-memory ports.
import { beforeAll, describe, expect, it } from "vitest";
import { whoisCommand } from "../src/bot/whois-commands.js";
import type { Invocation } from "../src/bot/command-spec.js";
import type { BoundContext } from "../src/bot/context.js";
import { TrustWarnings } from "../src/bridge/trust-warnings.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import type { PursuanceClient } from "../src/pursuance/client/client.js";
import { fingerprint } from "../src/pursuance/fingerprint.js";
import type { Fold } from "../src/pursuance/fold.js";
import { converge, History } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

const ALICE = "@alice:example.test";

/** What the bridge reads of a client here: its folded state and log. */
const clientOf = (f: Fold) => ({ state: f.state, crypto, fold: f }) as unknown as PursuanceClient;

function bridgeIdentity(confirmed: Array<[string, string]>, hosted: Record<string, string> = {}) {
  const ok = new Set(confirmed.map(([m, id]) => `${m} ${id}`));
  return {
    hosts: (m: string) => hosted[m] ?? null,
    confirmed: async (m: string, id: string) => ok.has(`${m} ${id}`),
    confirm: async () => {},
    view: () => null,
  };
}

async function whoisText(f: Fold, who: string, identity: ReturnType<typeof bridgeIdentity>): Promise<string> {
  const inv = { opt: (n: string) => (n === "who" ? who : undefined) } as unknown as Invocation;
  const ctx = { client: clientOf(f), identity, resolveUser: () => null } as unknown as BoundContext;
  const r = await whoisCommand(inv, ctx);
  return r.kind === "ok" ? r.plain : JSON.stringify(r);
}

function trustRoom(identity: ReturnType<typeof bridgeIdentity>) {
  const said = new Set<string>();
  const sent: string[] = [];
  const store = { sayOnce: async (a: string, b: string, c: string) => (said.has(`${a}|${b}|${c}`) ? false : (said.add(`${a}|${b}|${c}`), true)) };
  const matrix = { send: async (_room: string, m: { plain: string }) => void sent.push(m.plain) };
  return { sent, warnings: new TrustWarnings(store as never, matrix as never, identity.hosts, identity.confirmed) };
}

function world(seed: number) {
  const h = new History(crypto, seed);
  const F = h.member("founder");
  const A = h.member("alice");
  const S = h.member("seed");
  h.genesis(F);
  h.addMember(F, A, "admin");
  h.addMember(F, S, "seedling");
  h.emit(F, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
  return { h, F, A, S };
}

describe("the bridge's who is who judges Matrix ids by confirmations only", () => {
  it("an unconfirmed claimant's earlier claim: !whois shows the confirmed owner without a changed-key flag, and the room is not warned about the owner", async () => {
    const { h, A, S } = world(21);
    h.emit(S, { t: "identity.link", matrix: ALICE });
    h.emit(A, { t: "identity.link", matrix: ALICE });
    const f = converge(crypto, h, 8, 21);
    const id = bridgeIdentity([[A.hex, ALICE]]);
    const text = await whoisText(f, "alice", id);
    expect(text).toContain(`Matrix: ${ALICE} ✓`);
    expect(text).not.toContain("⚠");
    const room = trustRoom(id);
    await room.warnings.warn(clientOf(f), "!room:example.test", A.hex);
    expect(room.sent).toEqual([]);
    // Asked by the Matrix id, the bridge names the key that account confirmed.
    expect(await whoisText(f, ALICE, id)).toMatch(/^alice — admin/);
    // The claimant is the one called out.
    expect(await whoisText(f, "seed", id)).toMatch(/⚠ the Matrix id @alice:example.test is confirmed for another key/);
  });

  it("after the claimant unlinks and is removed nothing about it remains; a claim against a confirmed owner warns the room until the owner unlinks", async () => {
    const { h, F, A, S } = world(22);
    h.emit(S, { t: "identity.link", matrix: ALICE });
    h.emit(A, { t: "identity.link", matrix: ALICE });
    h.emit(S, { t: "identity.link", matrix: "" });
    h.remove(F, S);
    let f = converge(crypto, h, 8, 22);
    const id = bridgeIdentity([[A.hex, ALICE]]);
    expect(await whoisText(f, "alice", id)).not.toContain("⚠");
    const room = trustRoom(id);
    await room.warnings.warn(clientOf(f), "!room:example.test", A.hex);
    expect(room.sent).toEqual([]);
    // A vouched admin claims the confirmed id: the bridge checked it is alice's, so the room hears of it.
    const M = h.member("mallory");
    h.addMember(F, M, "admin");
    h.emit(F, { t: "member.verify", member: M.hex, fingerprint: fingerprint(crypto, M.hex) });
    h.emit(M, { t: "identity.link", matrix: ALICE });
    f = converge(crypto, h, 8, 22);
    await room.warnings.warn(clientOf(f), "!room:example.test", M.hex);
    expect(room.sent).toEqual([expect.stringMatching(/^⚠ mallory .* acts with a different key than the one that held the Matrix id @alice:example.test before/)]);
    // Alice unlinks: the basis is gone, so is the flag.
    h.emit(A, { t: "identity.link", matrix: "" });
    f = converge(crypto, h, 8, 22);
    expect(await whoisText(f, "mallory", id)).not.toContain("⚠");
  });
  it("asked by a Matrix id that several keys claim and that account confirmed for none, the bridge refuses to pick one", async () => {
    const { h, A, S } = world(23);
    h.emit(S, { t: "identity.link", matrix: ALICE });
    h.emit(A, { t: "identity.link", matrix: ALICE });
    const f = converge(crypto, h, 8, 23);
    await expect(whoisText(f, ALICE, bridgeIdentity([]))).rejects.toThrow(/2 keys claim @alice:example.test .*none is confirmed/);
    expect(await whoisText(f, ALICE, bridgeIdentity([[A.hex, ALICE]]))).toMatch(/^alice — admin/);
  });
});
