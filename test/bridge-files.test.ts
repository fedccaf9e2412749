// Issue 23, documents between Matrix and the relays, against a real Synapse:
// a Matrix member sends a 5 MiB file in a task's thread and a CLI member gets
// the same bytes; the CLI member attaches one and the Matrix member has the
// bridge post it in the room. Two real relays, one of which alters every
// chunk it serves (caught by the chunk hashes, taken from the other).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { MemoryRelayStore } from "../src/cwtch/relay-memory-store.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import type { RelayStore } from "../src/cwtch/relay-store.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite } from "../src/pursuance/invite.js";
import { clientEnv } from "../src/usecases/env.js";
import { attachFile, fetchFile } from "../src/usecases/files.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, type TestUser } from "../harness/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";
import { seededBytes as bytesOf } from "./helpers/bytes.js";

const bot = "@_pursuance_bot:localhost";
const MiB = 1024 * 1024;

/** A real relay whose store flips a byte of every large frame (a document's chunks) it serves. */
async function alteringRelay(): Promise<{ server: RelayServer; altered: () => number }> {
  const inner = new MemoryRelayStore();
  let altered = 0;
  const store = new Proxy(inner, {
    get(t, k) {
      if (k === "range") {
        return async (since: number, tags: ReadonlySet<string> | null, limit: number) =>
          (await t.range(since, tags, limit)).map((f) => {
            if (f.blob.length < 30_000) return f;
            altered++;
            const blob = f.blob.slice();
            blob[200] = blob[200]! ^ 0x5a;
            return { ...f, blob };
          });
      }
      const v = Reflect.get(t, k) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as RelayStore;
  return { server: await startRelay({ store }), altered: () => altered };
}

describe("documents between a Matrix room and a CLI member", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice: TestUser;
  let room: string;
  let bent: Awaited<ReturnType<typeof alteringRelay>>;
  const clients: PursuanceClient[] = [];

  beforeAll(async () => {
    h = await startHarness();
    bridge = await startBridgeInProcess(h);
    bent = await alteringRelay();
    alice = await h.user("f_alice");
    room = await alice.createRoom([bot]);
    await alice.waitFor(room, "the bot to join", (e) => e.type === "m.room.member" && e.content.membership === "join" && (e as { state_key?: string }).state_key === bot);
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    for (const c of clients) c.close();
    await bridge?.stop();
    await bent?.server.close();
    await h?.close();
  });

  it("a 5 MiB file sent in a task's thread reaches a CLI member intact, and one the CLI member attaches is posted in the room intact", async () => {
    await alice.send(room, '!pursuance create "Files Desk"');
    await alice.waitFor(room, "created", (e) => e.sender === bot && bodyOf(e).includes("created Files Desk"));
    await alice.send(room, '!task create "Budget review"');
    const taskMsg = await alice.waitFor(room, "task message", (e) => bodyOf(e).startsWith("📋 Task #1: Budget review"));
    const c = bridge.rooms.get(room)!.clientFor(alice.userId)!;

    // A CLI member with the admin role (keys of its own), who adds the altering relay for everyone.
    await alice.send(room, "!pursuance invite --role admin");
    const dm = await alice.directChatWith(bot);
    const inv = await alice.waitFor(dm, "invite", (e) => e.sender === bot && bodyOf(e).includes("pursuance:invite/"));
    const cli = await PursuanceClient.join(await ports(), await identity(), decodeInvite(/pursuance:invite\/\S+/.exec(bodyOf(inv))![0]), "carol", { fallbackDutyMs: 500, repairDelayMs: 50 });
    clients.push(cli);
    await until("carol holds the admin key and the bridge knows her", () => cli.state.keys.get("admin")!.holders.has(cli.me) && c.state.members.has(cli.me), [cli]);
    // The altering relay first in everyone's list (add it, then move the honest one behind it), so every fetch meets it first.
    await (await cli.changeRelays({ add: bent.server.url })).copied;
    await cli.changeRelays({ remove: h.relay.url });
    await (await cli.changeRelays({ add: h.relay.url })).copied;
    await until("the bridge follows the log's relays", () => c.relays.join(" ") === `${bent.server.url} ${h.relay.url}`, [cli]);

    // Matrix → relays → CLI.
    const budget = bytesOf(5 * MiB, 11);
    await alice.sendFileInThread(room, taskMsg.event_id, "budget.ods", budget);
    await alice.waitFor(room, "attached", (e) => e.sender === bot && bodyOf(e).includes("attached budget.ods"), 120_000);
    await until("carol sees the file", () => (cli.state.tasks.get(cli.state.taskIds[0]!)!.files ?? []).length === 1, [cli], 60_000);
    const got = await fetchFile(clientEnv(cli), { task: "#1", file: "budget.ods" });
    expect(Buffer.compare(Buffer.from(got.bytes), Buffer.from(budget))).toBe(0);
    expect(bent.altered()).toBeGreaterThan(0);
    expect(got.altered[bent.server.url] ?? 0).toBeGreaterThan(0);

    // CLI → relays → Matrix: the bridge fetches (the altering relay caught again) and posts it in the task's thread.
    const minutes = bytesOf(5 * MiB, 23);
    const before = bent.altered();
    await attachFile(clientEnv(cli), { task: "#1", name: "minutes.pdf", bytes: minutes });
    await until("the bridge sees the second file", () => (c.state.tasks.get(c.state.taskIds[0]!)!.files ?? []).length === 2, [cli], 60_000);
    await alice.send(room, "!task fetch 1 minutes.pdf");
    const fe = await alice.waitFor(room, "the posted file", (e) => e.sender === bot && e.content.msgtype === "m.file" && e.content.body === "minutes.pdf", 120_000);
    const posted = await alice.download(String(fe.content.url));
    expect(Buffer.compare(Buffer.from(posted), Buffer.from(minutes))).toBe(0);
    expect(bent.altered()).toBeGreaterThan(before);
    // In the task's thread.
    expect((fe.content["m.relates_to"] as { event_id?: string } | undefined)?.event_id).toBe(taskMsg.event_id);
  }, 300_000);
});
