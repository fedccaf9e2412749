// A pursuance's public profile (issue 11, finding a pursuance): set in the log
// only by a role allowed to speak for it, exported as a signed copy that anyone
// checks without an account; a copy with one byte changed fails, with the reason.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { BodyError } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { converge, expectApplied, expectRejected, History } from "./helpers/history.js";
import { ok, run, startRelayProcess } from "./helpers/cli.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

describe("profile.set in the fold", () => {
  it("only a role allowed to announce sets it, in every delivery order; the last applied one stands", () => {
    const h = new History(crypto, 11);
    const F = h.member("founder");
    const A = h.member("admin");
    const S = h.member("seed");
    h.genesis(F);
    h.addMember(F, A, "admin");
    h.addMember(F, S, "seedling");
    const bySeedling = h.emit(S, { t: "profile.set", mission: "m", join: "ask", rooms: [] });
    const byFounder = h.emit(F, { t: "profile.set", mission: "Open data", join: "Write to us", rooms: ["#news:example.test"] });
    const f = converge(crypto, h, 16, 11);
    expectRejected(f, bySeedling, /announce/);
    expectApplied(f, byFounder);
    expect(f.state.profile).toEqual({ mission: "Open data", join: "Write to us", rooms: ["#news:example.test"], by: F.hex, event: byFounder!.id });
  });

  it("malformed profiles are refused at the edge, naming the field", () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ t: "profile.set", mission: "m", join: "j", rooms: ["news"] }, /rooms/],
      [{ t: "profile.set", mission: "m", join: "j", rooms: ["#a:b.test", "#a:b.test"] }, /distinct/],
      [{ t: "profile.set", mission: "m".repeat(2001), join: "j", rooms: [] }, /mission/],
      [{ t: "profile.set", mission: "m", rooms: [] }, /join/],
    ];
    for (const [body, why] of bad) {
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      expect(() => parseBody(bytes), JSON.stringify(body).slice(0, 60)).toThrow(BodyError);
      expect(() => parseBody(bytes)).toThrow(why);
    }
  });
});

describe("a profile copy anyone can check (real relay, real CLI)", () => {
  let relay: { url: string; proc: ChildProcess };
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), "profile-"));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    relay = await startRelayProcess();
  });
  afterAll(() => {
    relay?.proc.kill("SIGTERM");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("set, export, verify; one changed byte fails; a member without the right is refused", async () => {
    const founder = ["--home", dir()];
    await ok(["client", "init", "--name", "founder", ...founder]);
    const id = (await ok(["client", "create", "Open Archive", "--relay", relay.url, ...founder])).match(/[0-9a-f]{64}/)![0];
    await ok(["client", "profile", "set", "--mission", "We publish what they hide", "--join", "Ask in #archive:example.test", "--room", "#archive:example.test", "--timeout", "3s", ...founder]);
    expect(await ok(["client", "profile", "show", "--timeout", "3s", ...founder])).toContain("Mission: We publish what they hide");
    const out = dir();
    const file = join(out, "profile.json");
    await ok(["client", "profile", "export", file, "--timeout", "3s", ...founder]);

    const good = await run(["verify-announcement", file, "--pursuance", id]);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toContain("VALID profile");
    expect(good.stdout).toContain("To join: Ask in #archive:example.test");

    // One byte of the signed event changed: refused, saying why.
    const copy = JSON.parse(readFileSync(file, "utf8")) as { profile: { event: string } };
    const bytes = Buffer.from(copy.profile.event, "base64");
    const at = bytes.indexOf(Buffer.from("hide"));
    expect(at).toBeGreaterThan(0);
    bytes[at] = "H".charCodeAt(0);
    copy.profile.event = bytes.toString("base64");
    const tampered = join(out, "tampered.json");
    writeFileSync(tampered, JSON.stringify(copy));
    const bad = await run(["verify-announcement", tampered, "--pursuance", id]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^INVALID: /m);
    expect(bad.stdout).toMatch(/signature does not verify/);
    // The shown "To join" changed to an attacker's address, the signed event untouched: ALTERED, with the difference.
    const shown = JSON.parse(readFileSync(file, "utf8")) as { profile: { text: string } };
    shown.profile.text = shown.profile.text.replace("Ask in #archive:example.test", "Ask in #archive:evil.test");
    const altered = join(out, "altered.json");
    writeFileSync(altered, JSON.stringify(shown));
    const alt = await run(["verify-announcement", altered, "--pursuance", id]);
    expect(alt.code, alt.stdout).toBe(1);
    expect(alt.stdout).toMatch(/^ALTERED: /m);
    expect(alt.stdout).toMatch(/\+ To join: Ask in #archive:evil\.test/);
    // Pinned to another pursuance: refused too.
    const other = await run(["verify-announcement", file, "--pursuance", "0".repeat(64)]);
    expect(other.code).toBe(1);

    // A seedling may not speak for the pursuance: refused before anything reaches the log.
    const invite = await ok(["client", "invite", "--role", "seedling", "--timeout", "3s", ...founder]);
    const seed = ["--home", dir()];
    await ok(["client", "init", "--name", "seed", ...seed]);
    // Keyless: the request waits on the relay until a member's client (the founder's next sync) lets it in.
    expect(await ok(["client", "join", invite, "--timeout", "3s", ...seed])).toMatch(/^waiting to join Open Archive/);
    await ok(["client", "sync", "--timeout", "4s", ...founder]);
    await ok(["client", "sync", "--timeout", "4s", ...seed]);
    const refused = await run(["client", "profile", "set", "--mission", "x", "--join", "y", "--timeout", "10s", ...seed]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/announce/);
  }, 180_000);
});
