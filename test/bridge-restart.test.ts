// The bridge as a real process, SIGKILLed mid-stream several times while a
// CLI member keeps creating tasks and a Matrix user keeps sending commands:
// after each restart it resumes from its database and the relays. At the end
// every task is in the room exactly once.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toB64 } from "../src/cwtch/bytes.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite } from "../src/pursuance/invite.js";
import { BIN } from "./helpers/cli.js";
import { startHarness, type Harness } from "../harness/bridge-harness.js";
import { bodyOf, type TestUser } from "../harness/matrix.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";

const bot = "@_pursuance_bot:localhost";

describe("bridge killed and restarted mid-stream", () => {
  let h: Harness;
  let config: string;
  let proc: ChildProcess | null = null;
  const clients: PursuanceClient[] = [];

  async function startBridge(): Promise<void> {
    proc = spawn(process.execPath, [BIN, "bridge", "-c", config], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    proc.stderr!.on("data", (d) => (err += d));
    const end = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${h.bridgePort}/ready`).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`bridge did not become ready:\n${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    h = await startHarness();
    config = join(h.dir, "config.yaml");
    writeFileSync(
      config,
      stringify({
        homeserver: { url: h.synapse.baseUrl, domain: "localhost" },
        appservice: { port: h.bridgePort, asToken: h.asToken, hsToken: h.hsToken },
        database: { url: join(h.dir, "bridge-db") },
        relays: [h.relay.url],
        identities: { key: toB64(h.identityKey), custodial: true },
        permissions: { localhost: "admin" },
        logging: { level: "warn", json: true },
        // alice is a plain HTTP client (harness/matrix.ts): she reads the invite's direct chat in clear.
        encryption: { default: false },
      }),
    );
    await startBridge();
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    proc?.kill("SIGKILL");
    for (const c of clients) c.close();
    await h?.close();
  });

  it("loses no task and posts none twice", async () => {
    const alice: TestUser = await h.user("alice");
    const room = await alice.createRoom([bot]);
    await alice.waitFor(room, "bot joined", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === bot && e.content.membership === "join");
    await alice.send(room, '!pursuance create "Restart Watch"');
    await alice.waitFor(room, "created", (e) => e.sender === bot && bodyOf(e).includes("created Restart Watch"));
    await alice.send(room, '!pursuance invite --role "change agent"');
    await alice.waitFor(room, "pointer to the DM", (e) => e.sender === bot && bodyOf(e).includes("in a direct message"));
    const dm = await alice.directChatWith(bot);
    const inv = await alice.waitFor(dm, "invite", (e) => bodyOf(e).includes("pursuance:invite/"));
    const cli = await PursuanceClient.join(await ports(), await identity(), decodeInvite(/pursuance:invite\/\S+/.exec(bodyOf(inv))![0]), "carol", { repairDelayMs: 50 });
    clients.push(cli);
    await until("carol holds the change agent key", () => cli.state.keys.get("change agent")!.holders.has(cli.me), [cli], 30_000);

    const titles: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) {
        const title = `cli task r${round} i${i}`;
        titles.push(title);
        await cli.publish(taskCreateBody(cli.actor, cli.state, { text: { title, deliverables: "" }, readers: ["change agent"] }));
        await new Promise((r) => setTimeout(r, 150 + 100 * i));
      }
      proc!.kill("SIGKILL");
      await new Promise((r) => proc!.once("exit", r));
      // While the bridge is down: more tasks from the CLI, and a command from Matrix (the homeserver queues it).
      const down = `cli task while down r${round}`;
      titles.push(down);
      await cli.publish(taskCreateBody(cli.actor, cli.state, { text: { title: down, deliverables: "" }, readers: ["change agent"] }));
      const fromMatrix = `matrix task r${round}`;
      titles.push(fromMatrix);
      await alice.send(room, `!task create "${fromMatrix}"`);
      await startBridge();
    }

    await alice.waitFor(room, "the last task", (e) => bodyOf(e).includes(`📋 Task #${titles.length}:`), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    const msgs = (await alice.messages(room, 1000)).map(bodyOf).filter((b) => b.startsWith("📋 Task #"));
    for (const t of titles) expect(msgs.filter((b) => b.includes(`: ${t}`)), t).toHaveLength(1);
    const nums = msgs.map((b) => Number(/#(\d+)/.exec(b)![1])).sort((a, b) => a - b);
    expect(nums).toEqual(titles.map((_, i) => i + 1));
    await until("carol sees the Matrix tasks", () => cli.state.taskIds.length === titles.length, [cli], 30_000);

    // Health and metrics on the appservice port, then a clean stop on SIGTERM.
    const base = `http://127.0.0.1:${h.bridgePort}`;
    expect((await fetch(`${base}/live`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^pursuance_bridge_rooms 1$/m);
    expect(metrics).toMatch(/^pursuance_bridge_events_mirrored_total \d+$/m);
    proc!.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => proc!.once("exit", r));
    expect(code).toBe(0);
    proc = null;
  }, 300_000);

  it("tells a Matrix member once, in their direct chat, of a task given to them, across a restart; never a task they may not read", async () => {
    await startBridge();
    const alice: TestUser = await h.user("n_alice");
    const bob: TestUser = await h.user("n_bob");
    const main = await alice.createRoom([bot]);
    await alice.waitFor(main, "bot joined", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === bot && e.content.membership === "join");
    await alice.send(main, '!pursuance create "Notice Board"');
    await alice.waitFor(main, "created", (e) => e.sender === bot && bodyOf(e).includes("created Notice Board"));
    await alice.send(main, `!pursuance invite ${bob.userId} --role seedling`);
    await alice.waitFor(main, "bob admitted", (e) => bodyOf(e).includes(`${bob.userId} joined as seedling`));
    await alice.send(main, `!task create "Call the archive" --role admin --assign ${bob.userId} --due +3d`);
    await alice.send(main, '!task create "Admins-only planning" --role admin');
    const dm = await bob.directChatWith(bot);
    await bob.waitFor(dm, "the notice", (e) => e.sender === bot && /task #\d+ is yours: Call the archive \(due \d{4}-\d\d-\d\d\)/.test(bodyOf(e)), 60_000);

    // Killed and started again: what was told is not told again; what is new is told once.
    proc!.kill("SIGKILL");
    await new Promise((r) => proc!.once("exit", r));
    await startBridge();
    await alice.send(main, `!task create "Appeal the refusal" --role admin --assign ${bob.userId}`);
    await bob.waitFor(dm, "the second notice", (e) => e.sender === bot && bodyOf(e).includes("is yours: Appeal the refusal"), 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    const told = (await bob.messages(dm)).filter((e) => e.sender === bot).map(bodyOf);
    expect(told.filter((b) => b.includes("is yours: Call the archive"))).toHaveLength(1);
    expect(told.filter((b) => b.includes("is yours: Appeal the refusal"))).toHaveLength(1);
    expect(told.join("\n")).not.toContain("Admins-only");
  }, 300_000);

  it("sends a member's daily digest at the hour they chose, once a day across a restart, and mentions a task due within a day once; only what they may read", async () => {
    // The bridge the test before left running (or beforeAll's, when this one runs alone).
    const alice: TestUser = await h.user("d_alice");
    const bob: TestUser = await h.user("d_bob");
    // bob keeps digests off until his work is there, so the test does not hang on the clock.
    const own = await bob.createRoom([bot]);
    await bob.waitFor(own, "bot joined", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === bot && e.content.membership === "join");
    await bob.send(own, "!digest at 25:00");
    await bob.waitFor(own, "a bad hour refused", (e) => e.sender === bot && bodyOf(e).includes('"25:00" is not a time of day'));
    await bob.send(own, "!digest at 08:00 Mars/Olympus");
    await bob.waitFor(own, "a bad zone refused", (e) => e.sender === bot && bodyOf(e).includes('"Mars/Olympus" is not a time zone'));
    await bob.send(own, "!digest off");
    await bob.waitFor(own, "digest off", (e) => e.sender === bot && bodyOf(e).includes("your daily digest is off"));
    const main = await alice.createRoom([bot]);
    await alice.waitFor(main, "bot joined", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === bot && e.content.membership === "join");
    await alice.send(main, '!pursuance create "Digest Desk"');
    await alice.waitFor(main, "created", (e) => e.sender === bot && bodyOf(e).includes("created Digest Desk"));
    await alice.send(main, `!pursuance invite ${bob.userId} --role seedling`);
    await alice.waitFor(main, "bob admitted", (e) => bodyOf(e).includes(`${bob.userId} joined as seedling`));
    await alice.send(main, `!task create "File the appeal" --role admin --assign ${bob.userId} --due +5d`);
    await alice.send(main, `!task create "Call the clerk" --role admin --assign ${bob.userId} --due today`);
    await alice.send(main, '!task create "Admins-only budget" --role admin --due +2d');
    const dm = await bob.directChatWith(bot);
    await bob.waitFor(dm, "the due-soon mention", (e) => e.sender === bot && /task #\d+ is due \d{4}-\d\d-\d\d: Call the clerk/.test(bodyOf(e)), 60_000);
    // The hour is now: a digest comes at the next pass (a change, or the minute's tick).
    await bob.send(own, "!digest at 00:00 UTC");
    await bob.waitFor(own, "digest set", (e) => e.sender === bot && bodyOf(e).includes("daily at 00:00 UTC"));
    await alice.send(main, "!task comment #1 starting");
    const digest = await bob.waitFor(dm, "the digest", (e) => e.sender === bot && bodyOf(e).includes("your digest"), 90_000);
    expect(bodyOf(digest)).toMatch(/Due within 14 days:[\s\S]*File the appeal[\s\S]*Call the clerk|Due within 14 days:[\s\S]*Call the clerk[\s\S]*File the appeal/);
    expect(bodyOf(digest)).not.toContain("Admins-only");

    // Killed and started again the same day: neither the digest nor the mention comes twice.
    proc!.kill("SIGKILL");
    await new Promise((r) => proc!.once("exit", r));
    await startBridge();
    await alice.send(main, `!task create "After the restart" --role admin --assign ${bob.userId}`);
    await bob.waitFor(dm, "the assignment after the restart", (e) => e.sender === bot && bodyOf(e).includes("is yours: After the restart"), 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    const told = (await bob.messages(dm)).filter((e) => e.sender === bot).map(bodyOf);
    expect(told.filter((b) => b.includes("your digest"))).toHaveLength(1);
    expect(told.filter((b) => b.includes("is due") && b.includes("Call the clerk"))).toHaveLength(1);
    expect(told.join("\n")).not.toContain("Admins-only");
  }, 300_000);
});
