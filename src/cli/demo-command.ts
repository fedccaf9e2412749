// `pursuance demo`: the whole protocol on this machine in one command. Two
// relays, three members, an invite, tasks and comments, a relay killed
// mid-run, a member removed (and locked out by key rotation), then every
// client's state hash compared. Each step says what it shows.
import { loadCrypto } from "../cwtch/crypto.js";
import { RelayClient } from "../cwtch/relay-client.js";
import { startRelay } from "../cwtch/relay-server.js";
import { commentBody, taskCreateBody } from "../pursuance/actions.js";
import { PursuanceClient } from "../pursuance/client/client.js";
import { decodeInvite, encodeInvite } from "../pursuance/invite.js";
import { memoryStore, type ClientPorts } from "../pursuance/ports.js";
import { taskView } from "../pursuance/views.js";
import { systemTimer } from "../cwtch/timer.js";

export const DEMO_HELP = `Usage: pursuance demo

Runs two relays and three member clients in this process (memory stores):
founding, inviting, joining, tasks, a relay failure, a removal with key
rotation, and a final check that every client computed the same state hash.
Exits 0 when every check holds, 1 otherwise.

Options:
  -h, --help   show this help

Example:
  pursuance demo
`;

export async function runDemoCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) return void process.stdout.write(DEMO_HELP), 0;
  if (argv.length > 0) {
    process.stderr.write(`pursuance demo: unexpected argument ${JSON.stringify(argv[0])}\n${DEMO_HELP}`);
    return 2;
  }
  const say = (s: string) => process.stdout.write(s + "\n");
  const crypto = await loadCrypto();
  const relays = [await startRelay(), await startRelay()];
  const urls = relays.map((r) => r.url);
  say(`relays up: ${urls.join(", ")} (they see only ciphertext)`);
  const ports = (): ClientPorts => ({
    crypto,
    now: () => Date.now(),
    setTimer: systemTimer,
    connect: (url) => new RelayClient({ url, crypto, minBackoffMs: 100, maxBackoffMs: 1000 }),
    store: memoryStore(),
  });
  const opts = { fallbackDutyMs: 1_000, repairDelayMs: 50, repairIntervalMs: 300 };
  const clients: PursuanceClient[] = [];
  const check = (ok: boolean, what: string) => {
    say(`${ok ? "✓" : "✗"} ${what}`);
    if (!ok) throw new Error(`check failed: ${what}`);
  };
  try {
    const ada = await PursuanceClient.create(ports(), crypto.signKeyPair(), { name: "Open Records Collective", founderName: "ada", relays: urls, ...opts });
    clients.push(ada);
    say(`ada founded "${ada.state.name}" (${ada.id.slice(0, 16)}…) with crypto backend ${crypto.backend}`);
    // Through the string form, as a new member would paste it.
    const invite = async (role: string) => encodeInvite(await ada.createInvite(role));
    const bob = await PursuanceClient.join(ports(), crypto.signKeyPair(), decodeInvite(await invite("admin")), "bob", opts);
    const cat = await PursuanceClient.join(ports(), crypto.signKeyPair(), decodeInvite(await invite("change agent")), "cat", opts);
    clients.push(bob, cat);
    const all = [ada, bob, cat];
    const settle = async (cs = all) => {
      for (let i = 0; i < 3; i++) await Promise.all(cs.map((c) => c.sync({ timeoutMs: 3_000, quietMs: 200 })));
    };
    await settle();
    check(all.every((c) => c.state.members.size === 3), "bob (admin) and cat (change agent) joined with single-use invites");

    const t1 = await cat.publish(taskCreateBody(cat.actor, cat.state, { text: { title: "File FOIA request #1", deliverables: "letter sent" }, readers: ["change agent"] }));
    await settle();
    await bob.publish(commentBody(bob.actor, bob.state.tasks.get(t1.id)!, "I can review the draft"));
    await settle();
    check(taskView(ada, ada.state.tasks.get(t1.id)!).comments[0]?.text === "I can review the draft", "cat's task and bob's comment reached ada, decrypted with the change-agent role key");

    try {
      await cat.publish({ t: "remove", member: bob.me, reason: "coup" });
      check(false, "a change agent removing an admin is refused");
    } catch (e) {
      check(true, `a change agent removing an admin is refused: ${(e as Error).message}`);
    }

    say("killing relay 1 mid-run…");
    await relays[0]!.close();
    const t2 = await ada.publish(taskCreateBody(ada.actor, ada.state, { text: { title: "Archive the leaked PDFs", deliverables: "" }, readers: ["admin"] }));
    await settle();
    check(bob.state.tasks.has(t2.id) && taskView(bob, bob.state.tasks.get(t2.id)!).title === "Archive the leaked PDFs", "work continues through relay 2; bob (admin) reads an admin task");
    check(taskView(cat, cat.state.tasks.get(t2.id)!).title === null, "cat (change agent) sees that the admin task exists, but not what it says");

    await bob.publish({ t: "remove", member: cat.me, reason: "demo" });
    await settle([ada, bob]);
    await settle([ada, bob]);
    check(!ada.state.keys.get("group")!.needsRotation, "removing cat rotated the group key and cat's role keys automatically");
    const t3 = await ada.publish(taskCreateBody(ada.actor, ada.state, { text: { title: "New plan", deliverables: "" }, readers: ["change agent"] }));
    await settle([ada, bob]);
    await cat.sync({ timeoutMs: 1_500 });
    check(!cat.state.tasks.has(t3.id), "cat's own client cannot read anything posted after the removal");

    const hashes = new Set([ada.hash(), bob.hash()]);
    check(hashes.size === 1, `ada and bob hold byte-identical state: ${[...hashes][0]}`);
    say("demo complete");
    return 0;
  } catch (e) {
    process.stderr.write(`demo failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    for (const c of clients) c.close();
    for (const r of relays) await r.close().catch(() => {});
  }
}
