// Join requests under attack (the independent review's findings): a flood of
// throw-away keys, answers in the pursuance's name by members who should not
// be able to give them (a seedling, a demoted or removed holder), one person's
// requests to two pursuances linked by key, and bad request frames. Fold-level
// tests (every delivery order) and real-CLI tests (real relays, processes).
//
// Stamps and the old answer-key derivation are computed here from their
// definitions (protocol.md), not by the code under test, so these tests ran
// against the code before the fix and failed there.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concat, fromB64, fromHex, toB64, toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { deriveEpochKeys, sealFrame, type EpochKeys } from "../src/cwtch/envelope.js";
import { decodeAndVerify } from "../src/cwtch/message.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { leadingZeroBits } from "../src/cwtch/relay-protocol.js";
import { toPEvent } from "../src/pursuance/pevent.js";
import { ok, run, startCli, startRelayProcess, type CliProcess } from "./helpers/cli.js";
import { converge, expectApplied, expectRejected, History, type HMember } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

// ── the wire formats, from protocol.md ──────────────────────────────────────
// Bound to the pursuance and to the opening (the address's answer key).
const signRequest = (kp: SignKeyPair, pid: string, answerKey: string, c: { name: string; message: string; ts: number }) =>
  toHex(crypto.sign(utf8.encode(JSON.stringify(["pursuance/requests/request/v2", pid, answerKey, c.name, c.message, c.ts])), kp.secretKey));
const stampBits = (pid: string, requester: string, sig: string, nonce: Uint8Array) =>
  leadingZeroBits(crypto.hash(concat(utf8.encode("pursuance/requests/stamp/v1"), utf8.encode(`${pid}:${requester}:${sig}:`), nonce), 32));
/** A nonce with at least `bits` (or, `under`, fewer than `bits`) zero bits. */
function stamp(pid: string, requester: string, sig: string, bits: number, under = false): string {
  for (let i = 0; ; i++) {
    const nonce = new Uint8Array(new Uint32Array([i, 7]).buffer);
    const b = stampBits(pid, requester, sig, nonce);
    if (under ? b < bits : b >= bits) return toB64(nonce);
  }
}
const rvKeys = (seed: Uint8Array): EpochKeys => deriveEpochKeys(crypto, 0, crypto.hash(utf8.encode("pursuance/requests/rv/v1"), 32, seed));

describe("join requests under attack, in the fold (every delivery order)", () => {
  const WORK = 8;
  const openBody = (holders: HMember[], o: { limit?: number; work?: number } = {}) => {
    const answerSeed = crypto.randomBytes(32);
    return {
      t: "requests.set" as const,
      open: true,
      seed: toB64(crypto.randomBytes(32)),
      limit: o.limit ?? 2,
      work: o.work ?? WORK,
      answerKey: toHex(crypto.signKeyPair(answerSeed).publicKey),
      holders: Object.fromEntries(holders.map((m) => [m.hex, toB64(crypto.sealTo(answerSeed, m.kp.publicKey))])),
    };
  };
  const pending = (h: History, carrier: HMember, r: HMember, pid: string, o: { stamp?: string; ts?: number } = {}) => {
    const content = { name: r.name, message: "let me in", ts: o.ts ?? 1_000 };
    const sig = signRequest(r.kp, pid, h.state().requestPolicy?.answerKey ?? "", content);
    return h.emit(carrier, { t: "request.pending", requester: r.hex, ...content, sig, stamp: o.stamp ?? stamp(pid, r.hex, sig, WORK) });
  };

  it("a flood costs the flooder: requests without enough work are refused; members drop a flood in one event and the real requester then gets in", () => {
    const h = new History(crypto, 31);
    const F = h.member("founder");
    const S = h.member("seed");
    const [X1, X2, X3, R] = ["x1", "x2", "x3", "real"].map((n) => h.member(n)) as [HMember, HMember, HMember, HMember];
    const g = h.genesis(F);
    h.addMember(F, S, "seedling");
    const open = h.emit(F, openBody([F]));
    // Unstamped, under-stamped, and a stamp minted for another key: refused before the limit is touched.
    const content = { name: "x3", message: "let me in", ts: 1_000 };
    const sig3 = signRequest(X3.kp, g.id, h.state().requestPolicy?.answerKey ?? "", content);
    const under = pending(h, F, X3, g.id, { stamp: stamp(g.id, X3.hex, sig3, WORK, true) });
    const borrowed = h.emit(F, { t: "request.pending", requester: X3.hex, ...content, sig: sig3, stamp: stamp(g.id, X1.hex, sig3, WORK) });
    // Two throw-away keys that paid fill the limit; the real requester is over it.
    const x1 = pending(h, F, X1, g.id);
    const x2 = pending(h, S, X2, g.id);
    const realOver = pending(h, F, R, g.id);
    // A seedling may not clear; an inviter clears both in one event.
    const dropBySeedling = h.emit(S, { t: "request.drop", requesters: [X1.hex, X2.hex] });
    const drop = h.emit(F, { t: "request.drop", requesters: [X1.hex, X2.hex] });
    const dropAgain = h.emit(F, { t: "request.drop", requesters: [X1.hex] });
    // The real requester's client reposts; it now fits. A dropped key may not come back, nor be answered.
    const real = pending(h, S, R, g.id, { ts: 2_000 });
    const x1Again = pending(h, F, X1, g.id, { ts: 3_000 });
    const answerDropped = h.emit(F, { t: "request.answer", requester: X2.hex, admit: false, reason: "no" });

    const f = converge(crypto, h, 16, 31);
    expectApplied(f, open);
    expectRejected(f, under, /proof-of-work stamp has fewer than 8 bits/);
    expectRejected(f, borrowed, /proof-of-work/);
    expectApplied(f, x1);
    expectApplied(f, x2);
    expectRejected(f, realOver, /too many pending requests \(limit 2\)/);
    expectRejected(f, dropBySeedling, /member\.invite/);
    expectApplied(f, drop);
    expectRejected(f, dropAgain, /none of the named requests is pending/);
    expectApplied(f, real);
    expectRejected(f, x1Again, /already asked \(dropped\)/);
    expectRejected(f, answerDropped, /already dropped/);
    expect(f.state.joinRequests.get(X1.hex)).toMatchObject({ status: "dropped", droppedBy: F.hex });
    expect(f.state.joinRequests.get(R.hex)).toMatchObject({ status: "pending", carriedBy: S.hex });
  });

  it("the answer key is sealed to holders of member.invite only; when a holder is demoted or removed the address retires until a holder reopens", () => {
    const h = new History(crypto, 32);
    const F = h.member("founder");
    const A = h.member("admin");
    const B = h.member("bee");
    const S = h.member("seed");
    const [R1, R2, R3] = ["r1", "r2", "r3"].map((n) => h.member(n)) as [HMember, HMember, HMember];
    const g = h.genesis(F);
    h.addMember(F, A, "admin");
    h.addMember(F, B, "admin");
    h.addMember(F, S, "seedling");
    const toSeedling = h.emit(F, openBody([F, S]));
    const notToOpener = h.emit(F, openBody([A]));
    const open = h.emit(F, openBody([F, A, B], { limit: 5 }));
    const r1 = pending(h, S, R1, g.id);
    h.revoke(F, A, "admin");
    // A still holds the old answer key: requests on that address stop being carried in.
    const r2Retired = pending(h, F, R2, g.id);
    const reopenWithA = h.emit(F, openBody([F, A, B], { limit: 5 }));
    const reopen = h.emit(F, openBody([F, B], { limit: 5 }));
    const r2 = pending(h, F, R2, g.id, { ts: 2_000 });
    h.remove(F, B);
    const r3Retired = pending(h, F, R3, g.id);
    const reopen2 = h.emit(F, openBody([F], { limit: 5 }));
    const r3 = pending(h, F, R3, g.id, { ts: 2_000 });
    // The demoted and the removed holder can no longer answer or drop in the log.
    const byDemoted = h.emit(A, { t: "request.answer", requester: R1.hex, admit: false, reason: "go away" });
    const dropByRemoved = h.emit(B, { t: "request.drop", requesters: [R1.hex] });
    // Requests carried in before the retirement stay answerable by a holder.
    const refuse1 = h.emit(F, { t: "request.answer", requester: R1.hex, admit: false, reason: "not yet" });

    const f = converge(crypto, h, 16, 32);
    expectRejected(f, toSeedling, /sealed to .* who does not hold member\.invite/);
    expectRejected(f, notToOpener, /sealed to its opener/);
    expectApplied(f, open);
    expectApplied(f, r1);
    expectRejected(f, r2Retired, /retired/);
    expectRejected(f, reopenWithA, /does not hold member\.invite/);
    expectApplied(f, reopen);
    expectApplied(f, r2);
    expectRejected(f, r3Retired, /retired/);
    expectApplied(f, reopen2);
    expectApplied(f, r3);
    expectRejected(f, byDemoted, /member\.invite/);
    expectRejected(f, dropByRemoved, /member/);
    expectApplied(f, refuse1);
    expect(Object.keys(f.state.requestPolicy!.holders)).toEqual([F.hex]);
  });
});

describe("join requests under attack, through the CLI (real relays, real processes)", () => {
  let relay: { url: string; proc: ChildProcess };
  const dirs: string[] = [];
  const procs: CliProcess[] = [];
  const home = (name: string) => {
    const d = mkdtempSync(join(tmpdir(), `reqx-${name}-`));
    dirs.push(d);
    return ["--home", d];
  };
  beforeAll(async () => {
    relay = await startRelayProcess();
  });
  afterAll(() => {
    for (const p of procs) p.proc.kill("SIGKILL");
    relay.proc.kill("SIGTERM");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const decode = (addr: string) => JSON.parse(Buffer.from(addr.slice("pursuance:request/".length), "base64url").toString("utf8")) as { rv: string; pursuanceId: string; answerKey: string; work?: number };
  const post = async (keys: EpochKeys, m: unknown, raw?: Uint8Array) => {
    const r = new RelayClient({ url: relay.url, crypto });
    r.start();
    try {
      await r.post(keys.tag, raw ?? sealFrame(crypto, keys, utf8.encode(JSON.stringify(m))));
    } finally {
      r.close();
    }
  };
  const requestMsg = (kp: SignKeyPair, pid: string, answerKey: string, name: string, bits: number, o: { signFor?: string; stampAs?: string } = {}) => {
    const content = { name, message: "", ts: Date.now() };
    const sig = signRequest(kp, o.signFor ?? pid, answerKey, content);
    const requester = toHex(kp.publicKey);
    return { k: "request", requester, sig, stamp: stamp(pid, o.stampAs ?? requester, sig, bits), ...content };
  };
  const founded = async (name: string, F: string[]) => {
    await ok(["client", "init", "--name", "founder", ...F]);
    return (await ok(["client", "create", name, "--relay", relay.url, ...F])).match(/[0-9a-f]{64}/)![0];
  };

  it("a flood of paid throw-away requests fills the limit; bad frames are refused with their reason in status --json; one 'requests clear' lets the real requester in", async () => {
    const F = home("founder");
    const C = home("carol");
    const pid = await founded("Flooded", F);
    await ok(["client", "init", "--name", "carol", ...C]);
    const addr = await ok(["client", "requests", "open", "--limit", "2", "--work", "6", "--timeout", "3s", ...F]);
    const a = decode(addr);
    const ch = deriveEpochKeys(crypto, 0, fromB64(a.rv));
    // Bad frames: forged (signed by another key), misaddressed (signed for another pursuance), unstamped, oversized, not a request.
    const x = crypto.signKeyPair();
    const forged = { ...requestMsg(crypto.signKeyPair(), pid, a.answerKey, "forged", 6), requester: toHex(x.publicKey) };
    await post(ch, forged);
    await post(ch, requestMsg(crypto.signKeyPair(), pid, a.answerKey, "elsewhere", 6, { signFor: "ab".repeat(32) }));
    await post(ch, { ...requestMsg(crypto.signKeyPair(), pid, a.answerKey, "cheap", 0), stamp: "AA" });
    await post(ch, null, sealFrame(crypto, ch, utf8.encode(JSON.stringify({ k: "request", pad: "x".repeat(20_000) }))));
    await post(ch, null, crypto.randomBytes(200));
    // Two throw-away keys that paid the (low, for the test) work.
    const flood = [crypto.signKeyPair(), crypto.signKeyPair()];
    for (const [i, kp] of flood.entries()) await post(ch, requestMsg(kp, pid, a.answerKey, `flood${i}`, 6));
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    // Carol asks; the limit is full, so her request is not carried in.
    const carol = startCli(["client", "request", addr, "--timeout", "120s", ...C]);
    procs.push(carol);
    await carol.waitStderr(/asked to join/, 90_000);
    const st = JSON.parse(await ok(["client", "status", "--json", "--timeout", "5s", ...F])) as { rejected: number; refusedRequests: Array<{ reason: string }> };
    const reasons = st.refusedRequests.map((r) => r.reason).join("\n");
    expect(reasons).toMatch(/signature does not verify/);
    expect(reasons).toMatch(/proof-of-work stamp has fewer than 6 bits/);
    expect(reasons).toMatch(/oversized/);
    expect(reasons).toMatch(/does not open/);
    expect(reasons).toMatch(/over the limit of 2 pending/);
    // Nothing bad reached the log, and the two paid requests did.
    expect(st.rejected).toBe(0);
    const before = JSON.parse(await ok(["client", "requests", "--json", "--timeout", "3s", ...F])) as Array<{ name: string; status: string }>;
    expect(before.map((r) => [r.name, r.status])).toEqual([
      ["flood0", "pending"],
      ["flood1", "pending"],
    ]);
    // One command clears the flood; carol's client reposts and is carried in.
    expect(await ok(["client", "requests", "clear", "--timeout", "5s", ...F])).toBe("cleared 2 pending requests");
    let rows: Array<{ name: string; status: string }> = [];
    for (let i = 0; i < 30 && !rows.some((r) => r.name === "carol"); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      rows = JSON.parse(await ok(["client", "requests", "--json", "--timeout", "5s", ...F])) as typeof rows;
    }
    expect(rows.map((r) => [r.name, r.status])).toEqual([
      ["flood0", "dropped"],
      ["flood1", "dropped"],
      ["carol", "pending"],
    ]);
    await ok(["client", "admit", "carol", "--timeout", "5s", ...F]);
    await carol.waitStderr(/joining/, 60_000);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    const c = await carol.done;
    expect(c.code, c.stderr).toBe(0);
  }, 240_000);

  it("a seedling cannot answer in the pursuance's name (the old answer key came from the seed every member holds)", async () => {
    const F = home("founder2");
    const S = home("seedling");
    const C = home("carol2");
    const pid = await founded("Answered", F);
    await ok(["client", "init", "--name", "seedling", ...S]);
    await ok(["client", "init", "--name", "carol", ...C]);
    const inv = await ok(["client", "invite", "--role", "seedling", "--timeout", "3s", ...F]);
    await ok(["client", "join", inv, "--timeout", "3s", ...S]);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    await ok(["client", "sync", "--timeout", "5s", ...S]);
    const addr = await ok(["client", "requests", "open", "--work", "4", "--timeout", "3s", ...F]);
    const carol = startCli(["client", "request", addr, "--timeout", "120s", ...C]);
    procs.push(carol);
    await carol.waitStderr(/asked to join/, 90_000);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    const rows = JSON.parse(await ok(["client", "requests", "--json", "--timeout", "5s", ...S])) as Array<{ requester: string; name: string }>;
    const carolKey = rows.find((r) => r.name === "carol")!.requester;
    // The seedling reads the seed from its own copy of the log and signs a refusal with the key derived from it.
    const file = join(S[1]!, "log.json");
    await ok(["client", "log", "export", file, "--timeout", "5s", ...S]);
    let seed: Uint8Array | null = null;
    for (const hex of (JSON.parse(readFileSync(file, "utf8")) as { events: string[] }).events) {
      const m = decodeAndVerify(crypto, fromHex(hex));
      const b = m && m.kind === "event" ? toPEvent(m).body : null;
      if (b?.t === "requests.set" && b.open && b.seed) seed = fromB64(b.seed);
    }
    const answerKp = crypto.signKeyPair(crypto.hash(utf8.encode("pursuance/requests/answer/v1"), 32, seed!));
    const box = toB64(crypto.sealTo(utf8.encode(JSON.stringify({ admit: false, reason: "go away", by: "founder" })), fromHex(carolKey)));
    await post(rvKeys(seed!), { k: "answer", to: carolKey, box, sig: toHex(crypto.sign(utf8.encode(`${carolKey}:${box}`), answerKp.secretKey)) });
    // The same with the key the address pins is out of reach: carol keeps waiting for a real answer.
    await new Promise((r) => setTimeout(r, 3000));
    expect(carol.stdout()).not.toMatch(/go away/);
    const refusedBySeedling = await run(["client", "refuse", "carol", "--timeout", "5s", ...S]);
    expect(refusedBySeedling.stderr).toMatch(/member\.invite/);
    await ok(["client", "refuse", "carol", "--reason", "full", "--timeout", "5s", ...F]);
    const c = await carol.done;
    expect(c.code, c.stderr).toBe(4);
    expect(c.stdout.trim()).toBe("refused by founder: full");
    void pid;
  }, 240_000);

  it("one home's requests to two pursuances share no key, and neither is the home's identity; asking again reuses the address's key", async () => {
    const C = home("dana");
    const [F1, F2] = [home("f1"), home("f2")];
    await ok(["client", "init", "--name", "dana", ...C]);
    const me = (JSON.parse(readFileSync(join(C[1]!, "identity.json"), "utf8")) as { publicKey: string }).publicKey;
    const keys: string[] = [];
    for (const [i, F] of [F1, F2].entries()) {
      await founded(`Pursuance ${i}`, F);
      const addr = await ok(["client", "requests", "open", "--work", "4", "--timeout", "3s", ...F]);
      for (let k = 0; k < 2; k++) {
        const r = await run(["client", "request", addr, "--timeout", "3s", ...C]);
        expect(r.code, r.stderr).toBe(3);
      }
      await ok(["client", "sync", "--timeout", "5s", ...F]);
      const rows = JSON.parse(await ok(["client", "requests", "--json", "--timeout", "5s", ...F])) as Array<{ requester: string; name: string }>;
      expect(rows.map((r) => r.name)).toEqual(["dana"]);
      keys.push(rows[0]!.requester);
    }
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys).not.toContain(me);
  }, 240_000);

  it("removing a holder of the answer key retires the address: a holder's client reopens with a new answer key, the old address is no longer heard, the new one is", async () => {
    const F = home("founder4");
    const A = home("admin4");
    const C = home("erin");
    await founded("Rotating", F);
    await ok(["client", "init", "--name", "admin", ...A]);
    await ok(["client", "init", "--name", "erin", ...C]);
    await ok(["client", "join", await ok(["client", "invite", "--role", "admin", "--timeout", "3s", ...F]), "--timeout", "3s", ...A]);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    await ok(["client", "sync", "--timeout", "5s", ...A]);
    const addr1 = await ok(["client", "requests", "open", "--work", "4", "--timeout", "3s", ...F]);
    await ok(["client", "remove", "admin", "--timeout", "5s", ...F]);
    const addr2 = await ok(["client", "requests", "address", "--timeout", "5s", ...F]);
    expect(addr2).toMatch(/^pursuance:request\//);
    expect(decode(addr2).rv).not.toBe(decode(addr1).rv);
    expect((decode(addr2) as { answerKey?: string }).answerKey).not.toBe((decode(addr1) as { answerKey?: string }).answerKey);
    const old = await run(["client", "request", addr1, "--timeout", "3s", ...C]);
    expect(old.code, old.stderr).toBe(3);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    expect(JSON.parse(await ok(["client", "requests", "--json", "--timeout", "5s", ...F]))).toEqual([]);
    const fresh = await run(["client", "request", addr2, "--timeout", "3s", ...C]);
    expect(fresh.code, fresh.stderr).toBe(3);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    const rows = JSON.parse(await ok(["client", "requests", "--json", "--timeout", "5s", ...F])) as Array<{ name: string; status: string }>;
    expect(rows.map((r) => [r.name, r.status])).toEqual([["erin", "pending"]]);
  }, 240_000);
});
