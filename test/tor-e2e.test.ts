// Issue 10, Tor for real: a private Tor network on loopback (3 directory
// authorities, 3 relays, an onion service, 2 client tors; harness/tor-net.ts)
// publishes a pursuance relay as ws://<x>.onion. Two members' CLI clients,
// each through its own tor's SOCKS port and knowing the relay only by its
// onion address, found a pursuance, join, create a task and converge on one
// state hash. Skipped, saying why, only where tor is not installed
// (.ci/run installs it).
import type { ChildProcess } from "node:child_process";
import { generateKeyPairSync, createHash } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startCli, startRelayProcess } from "./helpers/cli.js";
import { socksConnectCode, startTorNet, torUnavailable, type TorNet } from "../harness/tor-net.js";

const why = torUnavailable();
if (why) console.warn(`tor-e2e skipped: ${why}`);

/** A well-formed v3 onion address (real Ed25519 key, valid checksum) that nobody publishes. */
function unpublishedOnion(): string {
  const der = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" });
  const pub = der.subarray(der.length - 32);
  const version = Buffer.from([3]);
  const checksum = createHash("sha3-256").update(Buffer.concat([Buffer.from(".onion checksum"), pub, version])).digest().subarray(0, 2);
  const bytes = Buffer.concat([pub, checksum, version]);
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = "";
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  let out = "";
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return `${out}.onion`;
}

describe.skipIf(why !== undefined)(`a pursuance over a private Tor network${why ? ` (skipped: ${why})` : ""}`, () => {
  let dir: string;
  let relay: { url: string; proc: ChildProcess };
  let net: TorNet | undefined;
  let onionUrl: string;
  const socks = (i: number) => `socks5h://127.0.0.1:${net!.socksPorts[i]}`;
  // Each step first waits until that member's tor reaches the onion: the test
  // network rotates its HSDirs every few minutes (see TorNet.reach), which the
  // real network's day-long periods with overlapping descriptors do not.
  const ada = () => ["--home", join(dir, "ada"), "--socks", socks(0), "--timeout", "20s"];
  const bob = () => ["--home", join(dir, "bob"), "--socks", socks(1), "--timeout", "20s"];

  beforeAll(async () => {
    // The relay listens on 127.0.0.1 only; the clients are never told that address.
    relay = await startRelayProcess();
    const port = Number(new URL(relay.url).port);
    net = await startTorNet({ services: [{ port: 80, target: port }], clients: 2, log: (l) => console.log(`[tor] ${l}`) });
    onionUrl = `ws://${net.onion}`;
    // Members' homes inside the network's dir: removed with it on stop, exit and Ctrl-C.
    dir = join(net.dir, "members");
  }, 300_000);
  afterAll(async () => {
    await net?.stop();
    relay?.proc.kill("SIGKILL");
  });

  it("tor resolves only the published onion: an unpublished one is refused at the SOCKS port", async () => {
    await net!.reach(0);
    const code = await socksConnectCode(net!.socksPorts[0]!, unpublishedOnion(), 80, 60_000);
    // 0xF0: Tor looked the address up on the HSDirs and found no descriptor (a
    // malformed address would be 0xF6), so the check above was a real lookup too.
    expect(code.toString(16)).toBe("f0");
    // Fresh circuits (NEWNYM, as the helper's own retries do): the real one is still reached.
    await net!.newnym(0);
    await net!.reach(0);
  }, 90_000);

  it("two CLI members, each through its own tor, found, join, create a task and converge", async () => {
    await ok(["client", "init", "--name", "ada", "--home", join(dir, "ada")]);
    await ok(["client", "init", "--name", "bob", "--home", join(dir, "bob")]);
    await net!.reach(0);
    const id = await ok(["client", "create", "Over Tor", "--relay", onionUrl, ...ada()]);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const invite = await ok(["client", "invite", "--role", "admin", ...ada()]);
    expect(invite).toMatch(/^pursuance:invite\//);

    // bob asks to join and waits, subscribed through tor #2; ada's client, through
    // tor #1, carries the request in and seals the keys to bob while he waits.
    await net!.reach(1);
    const joining = startCli(["client", "join", invite, ...bob().slice(0, -1), "120s"]);
    let joined;
    try {
      await joining.waitStderr(/asked to join/, 90_000);
      await net!.reach(0);
      await ok(["client", "sync", ...ada()]);
      joined = await joining.done;
      expect(joined.code, joined.stderr).toBe(0);
    } finally {
      joining.proc.kill("SIGKILL");
    }
    expect(joined.stdout.trim()).toBe(`joined Over Tor (${id}) as admin`);

    await net!.reach(1);
    const task = await ok(["client", "task", "create", "Publish the relay's onion address", ...bob()]);
    expect(task).toMatch(/^[0-9a-f]{64}$/);
    await net!.reach(0);
    await ok(["client", "sync", ...ada()]);

    type Status = { stateHash: string; members: Array<{ name: string }>; relays: Array<{ url: string; connected: boolean; cursor: number }>; rejected: number };
    const a = JSON.parse(await ok(["client", "status", "--json", ...ada()])) as Status;
    await net!.reach(1);
    const b = JSON.parse(await ok(["client", "status", "--json", ...bob()])) as Status;
    expect(a.stateHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.stateHash).toBe(a.stateHash);
    expect(a.members.map((m) => m.name).sort()).toEqual(["ada", "bob"]);
    expect(a.rejected).toBe(0);
    // The only relay either knows is the onion, and both were connected to it through tor.
    for (const s of [a, b]) expect(s.relays).toEqual([{ url: onionUrl, connected: true, cursor: expect.any(Number) }]);
    const tasks = JSON.parse(await ok(["client", "task", "list", "--json", ...ada()])) as Array<{ id: string; title: string | null }>;
    expect(tasks.find((t) => t.id === task)?.title).toBe("Publish the relay's onion address");
  }, 600_000);
});
