// The `!` commands for rules policy, leadership, role amend/delete and task
// archive/retitle, over real PursuanceClients on a real relay: ada founds
// (primary, leader), bob and dan are admins (the succession role), cat a
// change agent. Time is real time plus an offset the test moves forward, so
// the leader's silence can pass without waiting for it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BotContext, Permission } from "../src/bot/context.js";
import { handleCommand } from "../src/bot/dispatch.js";
import type { BotReply } from "../src/bot/reply.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { findTask, taskView } from "../src/pursuance/views.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

// A long fallback: every duty this test needs must be done at once by whoever is designated.
const opts = { fallbackDutyMs: 120_000, repairDelayMs: 50, repairIntervalMs: 300 };
let offset = 0;
const HOUR = 3_600_000;

let relay: RelayServer;
let ada: PursuanceClient, bob: PursuanceClient, dan: PursuanceClient, cat: PursuanceClient;
let all: PursuanceClient[] = [];

async function clientPorts() {
  const p = await ports();
  return { ...p, now: () => Date.now() + offset };
}

function ctx(client: PursuanceClient, permission: Permission = "admin"): BotContext {
  const none = async () => {
    throw new Error("not used");
  };
  return {
    client,
    sender: "@someone:example.org",
    permission,
    resolveUser: () => null,
    now: () => Date.now() + offset,
    pursuance: { create: none, join: none, admit: none, request: none },
    keys: { status: async () => [], delegate: none, revoke: none },
  };
}

const run = async (c: PursuanceClient, text: string, perm: Permission = "admin") => (await handleCommand(text, ctx(c, perm)))!;
const sync = (what: string, cond: () => boolean) => until(what, cond, all);
const quiet = () => sync("quiet", () => all.every((c) => c.duty.inflight.size === 0 && c.session.log.size === all[0]!.session.log.size));

function ok(r: BotReply, text: RegExp): void {
  expect(r.kind === "error" ? `error: ${r.reason}` : r.plain).toMatch(text);
}

/** A refusal: its reason, its usage line, and nothing written. */
async function refused(c: PursuanceClient, text: string, reason: RegExp, usage: RegExp): Promise<void> {
  await quiet();
  const before = c.session.log.size;
  const r = await run(c, text);
  expect(r.kind).toBe("error");
  if (r.kind !== "error") return;
  expect(r.reason).toMatch(reason);
  expect(r.usage).toMatch(usage);
  expect(r.plain).toContain(`usage: ${r.usage.split("\n")[0]}`);
  await c.flushed();
  expect(c.session.log.size).toBe(before);
}

beforeAll(async () => {
  relay = await startRelay();
  ada = await PursuanceClient.create(await clientPorts(), await identity(), { name: "Watchdogs", founderName: "ada", relays: [relay.url], ...opts });
  const join = async (role: string, name: string) => PursuanceClient.join(await clientPorts(), await identity(), await ada.createInvite(role), name, opts);
  bob = await join("admin", "bob");
  dan = await join("admin", "dan");
  cat = await join("change agent", "cat");
  all = [ada, bob, dan, cat];
  await sync("four members with their keys", () => all.every((c) => c.state.members.size === 4 && c.state.keys.get("admin")!.holders.size === 3));
  // With two admins and quorum 2 the leader's client escrows the top role's keys on its own.
  await sync("escrow", () => all.every((c) => c.state.escrow?.holders.length === 2));
  await quiet();
});

afterAll(async () => {
  for (const c of [ada, bob, dan, cat]) c?.close();
  await relay.close();
});

describe("!rules policy", () => {
  it("refuses bad input with the usage line, and non-leaders by the rules", async () => {
    const usage = /^!rules policy \[--succession-role R\] \[--quorum N\] \[--silent-after DUR\] \[--rotate-every DUR\|off\] \[--file-limit SIZE\] \[--labels a,b,c\]$/;
    await refused(ada, "!rules policy", /rules policy needs at least one of --succession-role/, usage);
    await refused(ada, "!rules policy --silent-after soon", /--silent-after: "soon" is not a duration/, usage);
    await refused(ada, "!rules policy --silent-after 0s", /under the minimum of 1s/, usage);
    await refused(ada, "!rules policy --quorum 0", /--quorum: bad value "0" \(want an integer 1\.\.1000\)/, usage);
    await refused(ada, "!rules policy --succession-role wizard", /no role named "wizard"/, usage);
    await refused(ada, "!rules policy --rotate-every 5s", /--rotate-every: "5s" is under the minimum of 1m/, usage);
    await refused(bob, "!rules policy --quorum 1", /only the leader changes succession/, usage);
  });

  it("sets the silence limit, quorum and rotation; !rules shows them", async () => {
    ok(await run(ada, "!rules policy --silent-after 1h --quorum 2 --rotate-every 30d"), /^policy set: 2 holder\(s\) of admin may move leadership after 1h of the leader's silence; key rotation at least every 30d$/);
    expect(ada.state.rules.succession).toEqual({ role: "admin", quorum: 2, silentAfterMs: HOUR });
    expect(ada.state.rules.rotation).toEqual({ everyMs: 30 * 24 * HOUR });
    ok(await run(ada, "!rules"), /succession: 2 holder\(s\) of admin may move leadership after 1h of the leader's silence/);
    await sync("policy everywhere", () => all.every((c) => c.state.rules.succession.silentAfterMs === HOUR));
  });
});

describe("!help shows leadership commands only to who may run them", () => {
  const cmds = async (c: PursuanceClient) => (await run(c, "!help")).plain.split("\n").slice(1).map((l) => l.split(" — ")[0]!.split(/ [<"[]/)[0]!);
  it("the leader sees transfer and policy, the succession role sees vote, a change agent neither", async () => {
    const a = await cmds(ada);
    expect(a).toEqual(expect.arrayContaining(["!leader transfer", "!rules policy", "!role amend", "!role delete", "!task archive", "!task retitle", "!leader"]));
    expect(a).not.toContain("!leader vote");
    const b = await cmds(bob);
    expect(b).toContain("!leader vote");
    expect(b).not.toContain("!leader transfer");
    expect(b).not.toContain("!rules policy");
    const c = await cmds(cat);
    for (const x of ["!leader vote", "!leader transfer", "!rules policy", "!role amend", "!role delete", "!task archive"]) expect(c).not.toContain(x);
    expect(c).toContain("!task retitle");
    ok(await run(bob, "!help leader vote"), /!leader vote <who> — vote WHO the next leader/);
  });
});

describe("!role amend and !role delete", () => {
  it("amends and deletes, refusing bad input and the succession role", async () => {
    ok(await run(ada, "!role create scribe --rank 10 --caps task.comment"), /created role scribe/);
    ok(await run(ada, "!role amend scribe --rank 15 --caps task.comment,task.update"), /^amended role scribe: rank 15, task\.comment, task\.update$/);
    expect(ada.state.rules.roles.scribe).toEqual({ rank: 15, caps: ["task.comment", "task.update"], reads: "role" });
    const usage = /^!role amend <name> \[--rank N\] \[--caps a,b\] \[--reads role\|assigned\]$/;
    await refused(ada, "!role amend scribe", /give at least one of --rank, --caps, --reads/, usage);
    await refused(ada, "!role amend scribe --caps fly", /--caps: unknown capability "fly"/, usage);
    await refused(ada, "!role amend scribe --rank high", /--rank: "high" is not a whole number/, usage);
    await refused(ada, "!role amend wizard --rank 3", /no role named "wizard"/, usage);
    await refused(ada, "!role amend scribe --reads everything", /--reads must be role or assigned, not "everything"/, usage);
    await refused(bob, "!role amend admin --rank 70", /does not outrank role "admin"/, usage);
    await refused(ada, "!role delete admin", /"admin" is the succession role/, /^!role delete <name>$/);
    await refused(cat, "!role delete scribe", /lacks capability rules\.change/, /^!role delete <name>$/);
    ok(await run(ada, "!role delete scribe"), /^deleted role scribe$/);
    expect(ada.state.rules.roles.scribe).toBeUndefined();
  });
});

describe("!task archive and !task retitle", () => {
  it("retitles for every reader, archives, and refuses what it cannot do", async () => {
    ok(await run(ada, '!task create "First name" --role "change agent"'), /created #1/);
    await sync("task seen", () => cat.state.taskIds.length === 1);
    ok(await run(cat, '!task retitle 1 "Second name"'), /^#1 is now titled "Second name"$/);
    await sync("retitle seen", () => {
      const t = ada.state.taskIds.length > 0 ? findTask(ada.state, "1") : null;
      return t !== null && taskView(ada, t).title === "Second name";
    });
    expect(taskView(ada, findTask(ada.state, "1")).deliverables).toBe("");
    const usage = /^!task retitle <id> "<title>"$/;
    await refused(cat, "!task retitle 1", /missing <title>/, usage);
    await refused(cat, "!task retitle 9 x", /no task #9/, usage);
    await refused(cat, "!task archive 1", /lacks capability task\.archive/, /^!task archive <id>$/);
    ok(await run(ada, "!task archive #1"), /^#1 archived/);
    expect((await run(ada, "!task list")).plain).not.toMatch(/Second name/);
    expect((await run(ada, "!task list --all")).plain).toMatch(/Second name/);
    await refused(ada, "!task archive 1", /already archived/, /^!task archive <id>$/);
    await refused(ada, '!task retitle 1 "Third"', /archived/, usage);
  });
});

describe("!leader", () => {
  it("votes count only after the leader's silence; a quorum crowns; the new leader gets the top keys and hands over", async () => {
    await quiet();
    ok(await run(bob, "!leader"), /^leader: ada, last heard from/);
    await refused(bob, "!leader vote dan", /ada was heard from \d+ s before this vote; succession needs 1 h of silence/, /^!leader vote <who>$/);
    await refused(bob, "!leader vote", /missing <who>/, /^!leader vote <who>$/);
    await refused(bob, "!leader vote nobody", /no member "nobody"/, /^!leader vote <who>$/);
    await refused(cat, "!leader vote dan", /only holders of "admin" vote/, /^!leader vote <who>$/);
    await refused(bob, "!leader transfer dan", /only the leader transfers/, /^!leader transfer <who>$/);

    // ada goes silent: her client stops (so nobody online holds the top role's keys) for two hours.
    ada.close();
    all = [bob, dan, cat];
    offset += 2 * HOUR;
    ok(await run(bob, "!leader vote cat"), /^voted for cat \(1 of 2 votes\)$/);
    await sync("bob's vote", () => dan.state.votes.get(cat.me)?.size === 1);
    ok(await run(dan, "!leader vote cat"), /^cat is now the leader$/);
    await sync("cat leads everywhere", () => all.every((c) => c.state.leader === cat.me));
    // Cat, a change agent, now leads: it needs the admin key (bob and dan share it at once) and
    // the top role's keys (only ada held them: the escrow shares in the two votes give them to cat).
    await sync("cat holds every key", () =>
      [...cat.state.keys.values()].every((k) => k.holders.has(cat.me) && k.history.every((id) => cat.ring.get(id) !== undefined)),
    );
    ok(await run(cat, "!leader"), /^leader: cat/);
    ok(await run(cat, "!leader transfer bob"), /^bob is now the leader$/);
    await sync("bob leads", () => all.every((c) => c.state.leader === bob.me));
    await refused(dan, "!leader transfer dan", /only the leader transfers/, /^!leader transfer <who>$/);
  });
});
