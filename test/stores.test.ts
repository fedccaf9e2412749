// The client store and the bridge store, on both engines they run on: embedded
// PGlite and real PostgreSQL. Same contract, same assertions; the PostgreSQL
// half also reopens the database (a restart) and checks nothing was lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { bridgeStore } from "../src/store/bridge-store.js";
import { clientStore } from "../src/store/client-store.js";
import { openDatabase } from "../src/store/db.js";
import { pgliteEngine, postgresEngine, type Engine } from "./helpers/engines.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

const engines: Engine[] = [pgliteEngine(), postgresEngine("store_test")];
afterAll(async () => {
  for (const e of engines) await e.cleanup();
});

for (const engine of engines) {
  describe(`stores on ${engine.name}`, () => {
    it("client store: a key saved out of band stays so (saved again either way), plain or sealed", async () => {
      const { db } = await engine.fresh();
      const sealer = { seal: (p: Uint8Array) => Uint8Array.from([...p, 1, 2, 3]), open: (c: Uint8Array) => c.subarray(0, c.length - 3) };
      for (const s of [clientStore(db.db, crypto, "o", "g-plain"), clientStore(db.db, crypto, "o", "g-sealed", sealer)]) {
        const logKey = crypto.randomBytes(32);
        const welcome = crypto.randomBytes(32);
        await s.saveKey("group", logKey);
        await s.saveKey("group", welcome); // first kept from an event ...
        await s.saveKey("group", welcome, true); // ... then handed over by a welcome
        await s.saveKey("group", welcome, false);
        const keys = await s.loadKeys();
        const flag = (k: Uint8Array) => keys.find((x) => Buffer.compare(x.key, k) === 0)?.outOfBand;
        expect(keys).toHaveLength(2);
        expect(flag(logKey)).toBe(false);
        expect(flag(welcome)).toBe(true);
      }
    });

    it("client store: events in order and idempotent, keys by id, cursors upserted, owners and pursuances kept apart", async () => {
      const { location, db } = await engine.fresh();
      const a = clientStore(db.db, crypto, "owner-a", "group-1");
      const b = clientStore(db.db, crypto, "owner-b", "group-1");
      const evs = Array.from({ length: 1200 }, (_, i) => ({ id: `e${i}`, bytes: new Uint8Array([i & 0xff, i >> 8]) }));
      await a.saveEvents(evs);
      await a.saveEvents(evs.slice(0, 10)); // a replay after a crash changes nothing
      expect((await a.loadEvents()).map((x) => [...x])).toEqual(evs.map((e) => [...e.bytes]));
      expect(await b.loadEvents()).toEqual([]);
      const k1 = crypto.randomBytes(32);
      await a.saveKey("group", k1);
      await a.saveKey("group", k1);
      await a.saveKey("admin", crypto.randomBytes(32));
      expect((await a.loadKeys()).map((k) => k.scope).sort()).toEqual(["admin", "group"]);
      await a.saveCursor("ws://r1", 5);
      await a.saveCursor("ws://r1", 9);
      await a.saveCursor("ws://r2", 1);
      expect(await a.loadCursors()).toEqual({ "ws://r1": 9, "ws://r2": 1 });
      expect(await b.loadCursors()).toEqual({});
      // With a sealer (the bridge's vault), event rows are sealed at rest; plain rows written before still load.
      const box = crypto.randomBytes(32);
      const sealer = {
        seal: (p: Uint8Array, purpose: string) => {
          const n = crypto.randomBytes(24);
          return new Uint8Array([...n, ...crypto.aeadEncrypt(p, new TextEncoder().encode(purpose), n, box)]);
        },
        open: (x: Uint8Array, purpose: string) => crypto.aeadDecrypt(x.subarray(24), new TextEncoder().encode(purpose), x.subarray(0, 24), box)!,
      };
      const plainFirst = clientStore(db.db, crypto, "owner-s", "group-1");
      const legacy = { id: "old", bytes: new Uint8Array([1, 1, 7, 7, 7]) };
      await plainFirst.saveEvents([legacy]);
      const sealed = clientStore(db.db, crypto, "owner-s", "group-1", sealer);
      const secret = { id: "new", bytes: new Uint8Array([1, 1, ...new TextEncoder().encode("rendezvous-secret-in-a-body")]) };
      await sealed.saveEvents([secret]);
      expect((await sealed.loadEvents()).map((x) => [...x])).toEqual([[...legacy.bytes], [...secret.bytes]]);
      const raw = (await plainFirst.loadEvents()).map((x) => Buffer.from(x));
      expect(raw[1]![0]).toBe(0xe5);
      expect(raw[1]!.includes(Buffer.from("rendezvous-secret"))).toBe(false);
      await db.close();
      if (location === "memory://") return;
      // A restart: everything accepted is still there.
      const again = await openDatabase(location);
      const a2 = clientStore(again.db, crypto, "owner-a", "group-1");
      expect((await a2.loadEvents()).length).toBe(1200);
      expect(await a2.loadCursors()).toEqual({ "ws://r1": 9, "ws://r2": 1 });
      await again.close();
    });

    it("bridge store: bindings, identities, posted events, the inbound queue and role rooms", async () => {
      const { location, db } = await engine.fresh();
      const s = bridgeStore(db.db);
      const binding = { roomId: "!r:x", groupId: "g1", pursuanceId: "p1", name: "Watch", relays: ["ws://a"], boundBy: "@a:x" };
      await s.bindRoom(binding);
      await s.bindRoom({ ...binding, relays: ["ws://a", "ws://b"] });
      expect(await s.room("!r:x")).toMatchObject({ ...binding, relays: ["ws://a", "ws://b"] });
      expect(await s.room("!nope:x")).toBeNull();
      await s.markPosted({ groupId: "g1", eventId: "ev1", roomId: "!r:x", matrixEventId: "$m1", kind: "task", taskId: "t1" });
      await s.markPosted({ groupId: "g1", eventId: "ev1", roomId: "!r:x", matrixEventId: "$m1", kind: "task", taskId: "t1" });
      await s.markPosted({ groupId: "g1", eventId: "ev1", roomId: "!r2:x", matrixEventId: null, kind: "lock", taskId: "t1" });
      expect((await s.posted("g1")).map((p) => [p.eventId, p.kind])).toEqual([["ev1", "task"], ["ev1", "lock"]]);
      expect(await s.taskMessage("g1", "t1", "!r:x")).toBe("$m1");
      expect(await s.taskMessage("g1", "t1", "!r2:x")).toBeNull();
      expect(await s.taskForMessage("!r:x", "$m1")).toBe("t1");
      expect(await s.claimInbound("$in1", "!r:x", "{}")).toBe(true);
      expect(await s.claimInbound("$in1", "!r:x", "{}")).toBe(false);
      expect(await s.claimInbound("$in2", "!r:x", "{\"n\":2}")).toBe(true);
      await s.markInboundDone("$in1");
      expect(await s.pendingInbound()).toEqual(["{\"n\":2}"]);
      await s.setRoleRoom("g1", "admin", "!admin:x");
      expect(await s.roleRoom("g1", "admin")).toBe("!admin:x");
      await s.setGhostName("@_p_a:x", "alice");
      await s.setGhostName("@_p_a:x", "alice2");
      expect(await s.ghostName("@_p_a:x")).toBe("alice2");
      // Join requests waiting for an answer: one per user and room, replaced, dropped.
      await s.putJoinRequest({ roomId: "!r:x", matrixUser: "@a:x", address: "pursuance:request/a", message: "hi", displayName: "a" });
      await s.putJoinRequest({ roomId: "!r:x", matrixUser: "@a:x", address: "pursuance:request/b", message: "again", displayName: "a" });
      await s.putJoinRequest({ roomId: "!r2:x", matrixUser: "@a:x", address: "pursuance:request/c", message: "", displayName: "a" });
      expect((await s.joinRequests()).map((r) => [r.roomId, r.address, r.message]).sort()).toEqual([
        ["!r2:x", "pursuance:request/c", ""],
        ["!r:x", "pursuance:request/b", "again"],
      ]);
      await s.dropJoinRequest("!r:x", "@a:x");
      expect((await s.joinRequests()).map((r) => r.roomId)).toEqual(["!r2:x"]);
      await db.close();
      if (location === "memory://") return;
      const again = await openDatabase(location);
      const s2 = bridgeStore(again.db);
      expect(await s2.pendingInbound()).toEqual(["{\"n\":2}"]);
      expect((await s2.rooms()).length).toBe(1);
      await again.close();
    });
  });
}
