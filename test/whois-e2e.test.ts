// Who is who across a Matrix member and members on the real CLI (real Synapse,
// relay and bridge): both sides show the same fingerprints; a wrong one is
// refused, the right one recorded for everyone; a key that linked itself to a
// Matrix id shows as confirmed only once that account says so; a key claiming
// a Matrix id confirmed for someone else is called out as a changed key in the
// room (the CLI, which cannot see confirmations, flags neither claim).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge/bridge.js";
import { startBridgeInProcess, startHarness, type Harness } from "../harness/bridge-harness.js";
import { ok, run } from "./helpers/cli.js";
import { bodyOf, type TestUser } from "../harness/matrix.js";
import { SYNAPSE_HOOK_TIMEOUT_MS } from "../harness/synapse.js";

const bot = "@_pursuance_bot:localhost";
const TOKEN = /pursuance:invite\/[A-Za-z0-9_-]+/;
const FP = /[0-9]{5}( [0-9]{5}){7}/;

interface Row {
  member: string;
  name: string;
  fingerprint: string;
  matrix: string | null;
  verifiedBy: string[];
  changed: unknown[];
  you: boolean;
}

describe("whois and verification across Matrix and the CLI", () => {
  let h: Harness;
  let bridge: Bridge;
  let alice!: TestUser, carolMx!: TestUser;
  const homes: string[] = [];
  let room = "";

  beforeAll(async () => {
    h = await startHarness();
    bridge = await startBridgeInProcess(h, "memory://", { quiet: !process.env.BRIDGE_LOG });
    [alice, carolMx] = (await Promise.all([h.user("w_alice"), h.user("w_carol")])) as [TestUser, TestUser];
  }, SYNAPSE_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await bridge?.stop();
    await h?.close();
    for (const d of homes) rmSync(d, { recursive: true, force: true });
  });

  /** A member on the real CLI, let in by an invite the bot sends alice in a direct chat. */
  async function cliMember(name: string, dm: string): Promise<string[]> {
    const home = mkdtempSync(join(tmpdir(), `whois-${name}-`));
    homes.push(home);
    const invites = async () => (await alice.messages(dm)).filter((e) => e.sender === bot && TOKEN.test(bodyOf(e)));
    const before = (await invites()).length;
    await alice.send(room, "!pursuance invite --role admin");
    await expect.poll(async () => (await invites()).length, { timeout: 30_000, interval: 250 }).toBeGreaterThan(before);
    const inv = (await invites()).at(-1)!;
    const at = ["--home", home];
    await ok(["client", "init", "--name", name, ...at]);
    expect(await ok(["client", "join", TOKEN.exec(bodyOf(inv))![0], "--timeout", "30s", ...at])).toMatch(/joined Who \(\w+\) as admin/);
    return at;
  }
  const rows = async (at: string[], who?: string): Promise<Row[]> => JSON.parse(await ok(["client", "whois", ...(who ? [who] : []), "--json", "--timeout", "5s", ...at])) as Row[];
  /** The bot's first matching message after the command in the room's order (not an earlier answer). */
  const reply = async (text: string, pred: (b: string) => boolean) => {
    const sent = await alice.send(room, text);
    const end = Date.now() + 30_000;
    for (;;) {
      const msgs = await alice.messages(room);
      const hit = msgs.slice(msgs.findIndex((e) => e.event_id === sent) + 1).find((e) => e.sender === bot && pred(bodyOf(e)));
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no answer to ${text}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  it("the same fingerprints on both sides; a wrong one refused, the right one recorded for everyone", async () => {
    room = await alice.createRoom([bot], { power_level_content_override: { users: { [bot]: 100 } } });
    await alice.waitFor(room, "the bot", (e) => e.type === "m.room.member" && e.sender === bot);
    await alice.send(room, '!pursuance create "Who"');
    await alice.waitFor(room, "created", (e) => e.sender === bot && bodyOf(e).includes("created Who"));
    await alice.send(room, "!pursuance invite --role admin");
    const dm = await alice.directChatWith(bot);
    await alice.join(dm).catch(() => {});
    const carol = await cliMember("carol", dm);

    // The CLI's view of both, and the room's view of carol: the same digits.
    const all = await rows(carol);
    const me = all.find((r) => r.you)!;
    const a = all.find((r) => r.name !== "carol")!;
    expect(me.fingerprint).toMatch(FP);
    const shown = await reply("!whois carol", (b) => b.startsWith("carol"));
    expect(bodyOf(shown)).toContain(`fingerprint: ${me.fingerprint}`);
    expect(bodyOf(shown)).toContain("verified by: no member yet");
    const aliceShown = await reply(`!whois ${alice.userId}`, (b) => b.includes("fingerprint:") && b.includes(alice.userId));
    expect(bodyOf(aliceShown)).toContain(`fingerprint: ${a.fingerprint}`);
    expect(bodyOf(aliceShown)).toContain("this bridge holds that user's key");

    // Carol, an admin nobody has verified, acts: the room is told once.
    await ok(["client", "task", "create", "Unverified work", "--timeout", "5s", ...carol]);
    await alice.waitFor(room, "the unverified-key warning", (e) => e.sender === bot && /^⚠ carol \(admin; key \d{5} \d{5}…\) acts in a role above the lowest, and no member ranked at least as high has verified this key yet/.test(bodyOf(e)));

    // A wrong fingerprint (alice's own) is refused and changes nothing; the right one is recorded.
    const refused = await reply(`!verify carol ${a.fingerprint}`, (b) => b.startsWith("⛔"));
    expect(bodyOf(refused)).toMatch(/that is not carol's fingerprint/);
    expect((await rows(carol, "carol"))[0]!.verifiedBy).toEqual([]);
    await reply(`!verify carol ${me.fingerprint.replace(/ /g, "-")}`, (b) => b.includes("verified carol's key"));
    await expect.poll(async () => (await rows(carol, "carol"))[0]!.verifiedBy, { timeout: 30_000, interval: 500 }).toEqual([a.name]);

    // The CLI refuses a wrong fingerprint too, naming why, and vouches with the right one.
    const wrong = await run(["client", "whois", "verify", a.name, me.fingerprint, "--timeout", "5s", ...carol]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/that is not .*'s fingerprint/);
    await ok(["client", "whois", "verify", a.name, a.fingerprint, "--timeout", "5s", ...carol]);
    const again = await reply(`!whois ${alice.userId}`, (b) => b.includes("verified by:") && b.includes(alice.userId));
    expect(bodyOf(again)).toContain("verified by: carol");
  }, 240_000);

  it("a Matrix link shows confirmed only once that account confirms; a key claiming carol's Matrix id is called out", async () => {
    const dm = await alice.directChatWith(bot);
    const carol = homes[0] ? ["--home", homes[0]] : [];
    await ok(["client", "whois", "link", carolMx.userId, "--timeout", "5s", ...carol]);
    const claimed = await reply("!whois carol", (b) => b.startsWith("carol") && b.includes(carolMx.userId));
    expect(bodyOf(claimed)).toContain("not confirmed by that Matrix account");
    expect(bodyOf(claimed)).not.toContain("✓");

    // Only that account can confirm, and only a link to itself.
    const notMine = await reply("!whois confirm carol", (b) => b.startsWith("⛔"));
    expect(bodyOf(notMine)).toMatch(/has not linked itself to @w_alice/);
    await alice.call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { user_id: carolMx.userId });
    await carolMx.join(room);
    await carolMx.send(room, "!whois confirm carol");
    // Carol's Matrix account is no member: who is who goes to its direct chat, not to the room.
    const carolDm = await carolMx.directChatWith(bot);
    await carolMx.waitFor(carolDm, "carol's confirmation", (e) => e.sender === bot && bodyOf(e).startsWith(`confirmed: ${carolMx.userId} is carol`));
    // The answer to this command shows the confirmation (✓): it must reach alice's direct chat and not the room.
    // (Matched by content, not by time: under load an earlier answer has landed in the room late.)
    const asked = await alice.send(room, "!whois carol");
    await alice.waitFor(dm, "the whois answer in alice's direct chat", (e) => e.sender === bot && bodyOf(e).startsWith("carol") && bodyOf(e).includes(`${carolMx.userId} ✓`));
    const inRoom = await alice.messages(room);
    const afterAsked = inRoom.slice(inRoom.findIndex((e) => e.event_id === asked) + 1);
    expect(afterAsked.filter((e) => e.sender === bot && bodyOf(e).includes("fingerprint:") && bodyOf(e).includes("✓"))).toEqual([]);
    // Carol's Matrix account is no member: while it is here the room shows only what is public. It leaves.
    await carolMx.call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/leave`, {});
    const confirmed = await reply("!whois carol", (b) => b.startsWith("carol") && b.includes(carolMx.userId));
    expect(bodyOf(confirmed)).toContain(`Matrix: ${carolMx.userId} ✓`);
    // Carol's ghost now shows the confirmed Matrix id beside her name.
    const ghostName = async (text: string) => {
      const said = await alice.waitFor(room, text, (e) => bodyOf(e).includes(text));
      return (await alice.call<{ displayname: string }>("GET", `/_matrix/client/v3/profile/${encodeURIComponent(said.sender)}/displayname`)).displayname;
    };
    await ok(["client", "task", "comment", "#1", "a word from carol", "--timeout", "5s", ...carol]);
    expect(await ghostName("a word from carol")).toBe(`carol (pursuance · ${carolMx.userId} ✓)`);

    // Mallory joins and links carol's Matrix id to its own key: never confirmed, and a changed key in the room.
    const mallory = await cliMember("mallory", dm);
    await ok(["client", "whois", "link", carolMx.userId, "--timeout", "5s", ...mallory]);
    const forged = await reply("!whois mallory", (b) => b.startsWith("mallory"));
    expect(bodyOf(forged)).toContain("not confirmed by that Matrix account");
    expect(bodyOf(forged)).toMatch(/the Matrix id @w_carol:localhost is confirmed for another key .*this key's claim to it is not/);
    expect(bodyOf(forged)).not.toContain("✓");
    // Asked by the Matrix id, the bridge names the key that account confirmed, not the later claimant.
    const byId = await reply(`!whois ${carolMx.userId}`, (b) => b.includes("fingerprint:") && b.includes(carolMx.userId));
    expect(bodyOf(byId)).toMatch(/^carol — admin/);
    await ok(["client", "task", "create", "Mallory's work", "--timeout", "5s", ...mallory]);
    await ok(["client", "task", "comment", "#1", "a word from mallory", "--timeout", "5s", ...mallory]);
    expect(await ghostName("a word from mallory")).toBe("mallory (pursuance)");
    await alice.waitFor(room, "the changed-key warning", (e) => e.sender === bot && /^⚠ mallory .* acts with a different key than the one that held the Matrix id @w_carol:localhost before/.test(bodyOf(e)));
    // The CLI cannot see the confirmation: it shows both claims as claims, flags neither, and will not pick one by the id.
    const fromCli = (await rows(carol, "mallory"))[0]!;
    expect(fromCli.matrix).toBe(carolMx.userId);
    expect(fromCli.changed).toEqual([]);
    expect((await rows(carol, "carol"))[0]!.changed).toEqual([]);
    const ambiguous = await run(["client", "whois", carolMx.userId, "--timeout", "5s", ...carol]);
    expect(ambiguous.code).not.toBe(0);
    expect(ambiguous.stderr).toMatch(/2 keys claim @w_carol:localhost .*only the bridge can tell/);
  }, 240_000);
});
