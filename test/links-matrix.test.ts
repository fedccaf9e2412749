// A link between a pursuance worked from Matrix (real Synapse, relay and
// bridge) and one on the real CLI: the link token comes to the offerer in a
// direct chat, never the room; a task sent with `!task send` reaches the other
// pursuance with the bridge-hosted speaker's attestation, and the CLI side's
// answer comes back to the room's `!link sent`.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, type TestUser } from "../harness/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";
import { ok, startRelayProcess } from "./helpers/cli.js";

const bot = "@_pursuance_bot:localhost";
const TOKEN = /pursuance:link\/[A-Za-z0-9_-]+/;

describe("a link between a Matrix pursuance and a CLI one", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice!: TestUser;
  let relay: { url: string; proc: ChildProcess };
  const homes: string[] = [];

  beforeAll(async () => {
    h = await startHarness();
    bridge = await startBridgeInProcess(h, "memory://", { quiet: !process.env.BRIDGE_LOG });
    alice = await h.user("lk_alice");
    relay = await startRelayProcess();
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await bridge?.stop();
    await h?.close();
    relay?.proc.kill("SIGTERM");
    for (const d of homes) rmSync(d, { recursive: true, force: true });
  });

  const reply = async (room: string, text: string, pred: (b: string) => boolean) => {
    const sent = await alice.send(room, text);
    const end = Date.now() + 30_000;
    for (;;) {
      const msgs = await alice.messages(room);
      const hit = msgs.slice(msgs.findIndex((e) => e.event_id === sent) + 1).find((e) => e.sender === bot && pred(bodyOf(e)));
      if (hit) return bodyOf(hit);
      if (Date.now() > end) throw new Error(`no answer to ${text}: ${msgs.slice(-4).map(bodyOf).join(" | ")}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  it("offered from Matrix, accepted on the CLI; a task goes out with !task send and its answer comes back", async () => {
    const room = await alice.createRoom([bot], { power_level_content_override: { users: { [bot]: 100 } } });
    await alice.waitFor(room, "the bot", (e) => e.type === "m.room.member" && e.sender === bot);
    await reply(room, '!pursuance create "Alpha"', (b) => b.includes("created Alpha"));
    expect(await reply(room, "!link offer --roles primary", (b) => /sent you|⛔/.test(b))).toBe("sent you the link token in a direct message");
    const dm = await alice.directChatWith(bot);
    await alice.join(dm).catch(() => {});
    const tokenMsg = await alice.waitFor(dm, "the link token", (e) => e.sender === bot && TOKEN.test(bodyOf(e)));
    const token = TOKEN.exec(bodyOf(tokenMsg))![0];
    expect((await alice.messages(room)).some((e) => TOKEN.test(bodyOf(e)))).toBe(false);

    const bea = mkdtempSync(join(tmpdir(), "lk-bea-"));
    homes.push(bea);
    const B = ["--home", bea, "--timeout", "8s"];
    await ok(["client", "init", "--name", "bea", "--home", bea]);
    await ok(["client", "create", "Beta", "--relay", relay.url, ...B]);
    expect(await ok(["client", "link", "accept", token, ...B])).toMatch(/^linked with Alpha \([0-9a-f]{64}\); they may send tasks from: primary$/);
    // The bridge-hosted speaker (alice's client, always online) takes Beta's hello.
    await expect.poll(() => reply(room, "!link list", (b) => b.includes("roles")), { timeout: 30_000, interval: 1000 }).toMatch(/ Beta — offered, roles primary, speaker lk_alice/);

    expect(await reply(room, '!task send Beta "Check the leaked contract" --body "pages 3-9"', (b) => /sent to Beta|⛔/.test(b))).toMatch(/^sent to Beta \([0-9a-f]{12}\)/);
    type Row = { id: string; title: string; body: string; status: string; peer: string };
    const inbox = async () => {
      await ok(["client", "sync", ...B]);
      return JSON.parse(await ok(["client", "link", "inbox", "--json", ...B])) as Row[];
    };
    await expect.poll(inbox, { timeout: 45_000, interval: 1000 }).toEqual([expect.objectContaining({ title: "Check the leaked contract", body: "pages 3-9", status: "sent", peer: "Alpha" })]);
    const [task] = await inbox();
    await ok(["client", "link", "answer", task!.id.slice(0, 12), "done", "--note", "published on page 1", ...B]);
    await expect
      .poll(() => reply(room, "!link sent", (b) => b.includes("Check the leaked contract")), { timeout: 45_000, interval: 1000 })
      .toMatch(/done to Beta: Check the leaked contract — published on page 1/);
  }, 240_000);
});
