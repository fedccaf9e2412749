// `pursuance backup --bridge` / `restore --bridge`: the bridge's database
// (bindings, sealed identities, hosted clients' logs and keys, what was posted
// where, the inbound queue) taken from PGlite and restored into PostgreSQL on
// "another machine" whose config names another identity key, so every sealed
// row is re-sealed. The restored hosted identity catches up from the relay and
// acts; another member sees it. Done through the bridge's own stores and
// vault, without a homeserver (test/bridge-restart.test.ts covers a running
// bridge resuming from its database).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentityVault } from "../src/bridge/identity-vault.js";
import { withSealedInbound } from "../src/bridge/sealed-store.js";
import { toB64, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import type { ClientPorts } from "../src/pursuance/ports.js";
import { taskView } from "../src/pursuance/views.js";
import { runBackupCommand, runRestoreCommand } from "../src/cli/backup-command.js";
import { bridgeStore } from "../src/store/bridge-store.js";
import { countRows } from "../src/store/backup-tables.js";
import { clientStore } from "../src/store/client-store.js";
import { openDatabase, type Database } from "../src/store/db.js";
import { postgresEngine } from "./helpers/engines.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";
import { systemTimer } from "../src/cwtch/timer.js";

describe("bridge backup from PGlite, restored into PostgreSQL under another identity key", () => {
  let dir: string;
  let relay: RelayServer;
  let crypto: Crypto;
  const pg = postgresEngine("backup_bridge");
  const closers: Array<() => unknown> = [];
  const keyA = new Uint8Array(32).fill(7);
  const keyB = new Uint8Array(32).fill(9);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-bridge-backup-"));
    relay = await startRelay();
    crypto = await loadCrypto();
    writeFileSync(join(dir, "pass"), "a long bridge passphrase\n");
    writeFileSync(join(dir, "wrong"), "not the bridge passphrase\n");
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    await relay?.close();
    await pg.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (name: string, database: string, key: Uint8Array) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(
      path,
      stringify({
        homeserver: { url: "http://127.0.0.1:1", domain: "localhost" },
        appservice: { port: 9999, asToken: "as-token-0123456789", hsToken: "hs-token-0123456789" },
        database: { url: database },
        relays: [relay.url],
        identities: { key: toB64(key), custodial: true },
        permissions: { localhost: "admin" },
      }),
    );
    return path;
  };
  const hostedPorts = (db: Database, vault: IdentityVault, owner: string, groupId: string): ClientPorts => ({
    crypto,
    now: () => Date.now(),
    setTimer: systemTimer,
    connect: (url) => new RelayClient({ url, crypto, minBackoffMs: 50, maxBackoffMs: 500 }),
    store: clientStore(db.db, crypto, owner, groupId, { seal: (k, p) => vault.sealBytes(k, p), open: (k, p) => vault.openBytes(k, p) }),
  });
  const io = () => {
    const lines = { out: [] as string[], err: [] as string[] };
    return { lines, io: { out: (l: string) => void lines.out.push(l), err: (l: string) => void lines.err.push(l) } };
  };
  const titles = (c: PursuanceClient) => c.state.taskIds.map((id) => taskView(c, c.state.tasks.get(id)!).title ?? "?").sort();

  it("restores every row, re-sealed, and the hosted identity acts again", async () => {
    // The bridge on machine A: PGlite, identity key A, one hosted identity that founded a pursuance.
    const dbA = await openDatabase(join(dir, "bridge-a"));
    const vaultA = new IdentityVault(crypto, keyA);
    const storeA = withSealedInbound(bridgeStore(dbA.db), vaultA);
    const alice = crypto.signKeyPair();
    const aliceId = toHex(alice.publicKey);
    const groupId = toHex(crypto.randomBytes(32));
    const founder = await PursuanceClient.create(hostedPorts(dbA, vaultA, aliceId, groupId), alice, { groupId, name: "Backed Up", founderName: "alice", relays: [relay.url] });
    await storeA.bindRoom({ roomId: "!room:localhost", groupId, pursuanceId: founder.id, name: "Backed Up", relays: [relay.url], boundBy: "@alice:localhost" });
    await storeA.putIdentity({ matrixUser: "@alice:localhost", groupId, memberId: aliceId, sealedSecret: vaultA.seal(alice.secretKey, `@alice:localhost|${groupId}`) });
    await storeA.markPosted({ groupId, eventId: founder.id, roomId: "!room:localhost", matrixEventId: "$genesis", kind: "notice", taskId: null });
    await storeA.claimInbound("$pending", "!room:localhost", JSON.stringify({ type: "m.room.message", content: { body: "!task create queued" } }));
    // Another member (own keys) joins while the bridge's client is online, then both see a first task.
    const invite = await founder.createInvite("admin");
    const bob = await PursuanceClient.join(await ports(), await identity(), invite, "bob", { repairDelayMs: 50 });
    closers.push(() => bob.close());
    await founder.publish(taskCreateBody(founder.actor, founder.state, { text: { title: "before the backup", deliverables: "" }, readers: ["admin"] }));
    await until("bob reads the first task", () => titles(bob).includes("before the backup"), [bob], 30_000);
    await founder.flushed();
    founder.close();
    await dbA.close();

    const cfgA = config("a", join(dir, "bridge-a"), keyA);
    const file = join(dir, "bridge.pbak");
    const b = io();
    expect(await runBackupCommand([file, "--bridge", "-c", cfgA, "--passphrase-file", join(dir, "pass")], b.io), b.lines.err.join("\n")).toBe(0);
    expect(b.lines.out.join("")).toMatch(/bridge state \(1 rooms, 1 identities\) written to/);

    // Work goes on while the bridge is away.
    await bob.publish(taskCreateBody(bob.actor, bob.state, { text: { title: "while the bridge was away", deliverables: "" }, readers: ["admin"] }));
    await bob.flushed();

    // Machine B: PostgreSQL, another identity key. A wrong passphrase writes nothing.
    const { location: urlB, db: probe } = await pg.fresh();
    const cfgB = config("b", urlB, keyB);
    const w = io();
    expect(await runRestoreCommand([file, "--bridge", "-c", cfgB, "--passphrase-file", join(dir, "wrong")], w.io)).toBe(1);
    expect(w.lines.err.join("\n")).toMatch(/wrong passphrase for .*bridge\.pbak; nothing was restored/);
    expect(await countRows(probe.db, { kind: "bridge" })).toBe(0);
    // A bridge backup does not restore as a member's.
    const m = io();
    expect(await runRestoreCommand([file, "--home", join(dir, "not-a-member"), "--passphrase-file", join(dir, "pass")], m.io)).toBe(2);
    expect(m.lines.err.join("\n")).toMatch(/is a bridge backup: add --bridge -c config\.yaml/);
    const r = io();
    expect(await runRestoreCommand([file, "--bridge", "-c", cfgB, "--passphrase-file", join(dir, "pass")], r.io), r.lines.err.join("\n")).toBe(0);
    expect(r.lines.err.join("\n")).toMatch(/differs from the backup's.*re-sealing/);
    const again = io();
    expect(await runRestoreCommand([file, "--bridge", "-c", cfgB, "--passphrase-file", join(dir, "pass")], again.io)).toBe(2);
    expect(again.lines.err.join("\n")).toMatch(/already holds state; use --force/);
    await probe.close();

    const dbB = await openDatabase(urlB);
    closers.push(() => dbB.close());
    const vaultB = new IdentityVault(crypto, keyB);
    const storeB = withSealedInbound(bridgeStore(dbB.db), vaultB);
    expect(await storeB.rooms()).toEqual([{ roomId: "!room:localhost", groupId, pursuanceId: founder.id, name: "Backed Up", relays: [relay.url], boundBy: "@alice:localhost" }]);
    expect((await storeB.posted(groupId)).map((p) => p.matrixEventId)).toEqual(["$genesis"]);
    expect(await storeB.pendingInbound()).toEqual([JSON.stringify({ type: "m.room.message", content: { body: "!task create queued" } })]);
    const [idRow] = await storeB.identities(groupId);
    // Sealed under key B now (key A no longer opens it), and it is alice's key.
    expect(() => vaultA.open(idRow!.sealedSecret, `@alice:localhost|${groupId}`)).toThrow(/wrong identity key/);
    const restored = vaultB.open(idRow!.sealedSecret, `@alice:localhost|${groupId}`);
    expect(toHex(restored.publicKey)).toBe(aliceId);

    // The restored hosted client loads its log and keys from B, catches up and acts; bob sees it.
    const again2 = await PursuanceClient.open(hostedPorts(dbB, vaultB, aliceId, groupId), restored, { pursuanceId: founder.id, groupId, relays: [relay.url], name: "Backed Up" });
    closers.push(() => again2.close());
    expect(titles(again2)).toEqual(["before the backup"]); // from the restored database alone
    await again2.start();
    await until("the restored client catches up", () => titles(again2).includes("while the bridge was away"), [again2], 30_000);
    await again2.publish(taskCreateBody(again2.actor, again2.state, { text: { title: "by the restored bridge", deliverables: "" }, readers: ["admin"] }));
    await until("bob sees the restored bridge's task", () => titles(bob).includes("by the restored bridge"), [bob], 30_000);
    expect(titles(bob)).toEqual(["before the backup", "by the restored bridge", "while the bridge was away"]);
  }, 180_000);
});
