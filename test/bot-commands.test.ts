// The `!` commands over real PursuanceClients on real relays: ada founds
// (primary), cat joins as change agent, sam as seedling. Every happy path is
// checked by its reply and by the state it leaves; every refusal by its
// reason, its usage line and an unchanged log.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BotContext, KeyStatusRow, Permission } from "../src/bot/context.js";
import { handleCommand } from "../src/bot/dispatch.js";
import type { BotReply } from "../src/bot/reply.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { findTask } from "../src/pursuance/views.js";
import { relaysForInvite } from "../src/bridge/invite-relays.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const opts = { fallbackDutyMs: 300, repairDelayMs: 50, repairIntervalMs: 300 };
const NOW = Date.UTC(2030, 0, 15, 12);

let relays: RelayServer[] = [];
let ada: PursuanceClient, cat: PursuanceClient, sam: PursuanceClient;
let all: PursuanceClient[] = [];
const extra: PursuanceClient[] = [];
const keyCalls: string[] = [];
const admitted: string[] = [];

async function invite(from: PursuanceClient, role: string): Promise<string> {
  return encodeInvite(await from.createInvite(role));
}

function ctx(client: PursuanceClient | null, permission: Permission = "admin", sender = "@someone:example.org"): BotContext {
  const users: Record<string, string> = { "@ada:example.org": ada.me, "@cat:example.org": cat.me, "@sam:example.org": sam.me };
  return {
    client,
    sender,
    permission,
    resolveUser: (ref) => users[ref] ?? null,
    now: () => NOW,
    pursuance: {
      create: async (name) => {
        const c = await PursuanceClient.create(await ports(), await identity(), { name, founderName: "eve", relays: [relays[0]!.url], ...opts });
        extra.push(c);
        return c;
      },
      join: async (inv) => {
        const c = await PursuanceClient.join(await ports(), await identity(), inv, "fay", opts);
        extra.push(c);
        return c;
      },
      admit: async (user, inv) => {
        const c = await PursuanceClient.join(await ports(), await identity(), inv, user.slice(1, user.indexOf(":")), opts);
        extra.push(c);
        admitted.push(user);
        return c;
      },
      request: async (addr) => `asked to join ${addr.name}`,
    },
    keys: {
      status: async (): Promise<KeyStatusRow[]> => [
        { role: "change agent", readable: true, delegatedBy: [ada.me] },
        { role: "admin", readable: false, delegatedBy: [] },
      ],
      delegate: async (role) => (keyCalls.push(`delegate ${role}`), `now holding ${role} for you`),
      revoke: async (role) => (keyCalls.push(`revoke ${role}`), `dropped ${role}`),
    },
  };
}

const run = async (c: PursuanceClient | null, text: string, perm: Permission = "admin") => (await handleCommand(text, ctx(c, perm)))!;

/** Everyone has everything and no key duty is pending: log sizes are stable from here. */
async function settle(): Promise<void> {
  await until("quiet", () => all.every((c) => c.duty.inflight.size === 0 && [...c.state.keys.values()].every((k) => !k.needsRotation) && c.session.log.size === ada.session.log.size), all);
}

function expectError(r: BotReply, reason: RegExp, usage: RegExp): void {
  expect(r.kind).toBe("error");
  if (r.kind !== "error") return;
  expect(r.reason).toMatch(reason);
  expect(r.usage).toMatch(usage);
  expect(r.plain).toContain(r.reason);
  expect(r.plain).toContain(`usage: ${r.usage.split("\n")[0]}`);
  expect(r.react).toBe("⛔");
  expect(r.internal).toBeUndefined();
}

/** Run a refused command and check it wrote nothing. */
async function refused(c: PursuanceClient, text: string, perm: Permission, reason: RegExp, usage: RegExp): Promise<void> {
  await settle();
  const before = c.session.log.size;
  const hash = c.hash();
  expectError(await run(c, text, perm), reason, usage);
  await c.flushed();
  expect(c.session.log.size).toBe(before);
  expect(c.hash()).toBe(hash);
}

beforeAll(async () => {
  relays = [await startRelay(), await startRelay(), await startRelay()];
  ada = await PursuanceClient.create(await ports(), await identity(), { name: "Watchdogs", founderName: "ada", relays: [relays[0]!.url, relays[1]!.url], ...opts });
  const forCat = decodeInvite(await invite(ada, "change agent"));
  const forSam = decodeInvite(await invite(ada, "seedling"));
  cat = await PursuanceClient.join(await ports(), await identity(), forCat, "cat", opts);
  sam = await PursuanceClient.join(await ports(), await identity(), forSam, "sam", opts);
  all = [ada, cat, sam];
  await until("three members", () => all.every((c) => c.state.members.size === 3 && c.state.keys.get("change agent")!.holders.has(cat.me)), all);
  await settle();
});

afterAll(async () => {
  for (const c of [...all, ...extra]) c.close();
  for (const r of relays) await r.close();
});

describe("!task", () => {
  it("creates, escaping the title in HTML, with assignee and due date", async () => {
    const r = await run(ada, `!task create "Fix <script>alert(1)</script> & door" --assign @cat:example.org --due tomorrow`);
    expect(r.kind).toBe("task-created");
    if (r.kind !== "task-created") return;
    expect(r.task).toMatchObject({ num: 1, title: "Fix <script>alert(1)</script> & door", assignee: "cat", due: "2030-01-16", readers: ["change agent"] });
    expect(r.plain).toContain("#1 Fix <script>alert(1)</script> & door [new] → cat");
    expect(r.html).not.toContain("<script>");
    expect(r.html).toContain("Fix &#60;script&#62;alert(1)&#60;/script&#62; &#38; door");
    const t = ada.state.tasks.get(r.task.id)!;
    expect(t.assignee).toEqual({ member: cat.me });
    await until("cat sees #1", () => cat.state.tasks.has(r.task.id) && sam.state.tasks.has(r.task.id), all);
  });

  it("creates with a parent, a role and smart quotes; lists and filters", async () => {
    const r = await run(ada, "!task create “Call the press” —role admin --parent #1 --deliverables 'a list' --assign role:admin");
    expect(r.kind).toBe("task-created");
    if (r.kind !== "task-created") return;
    expect(r.task).toMatchObject({ num: 2, title: "Call the press", readers: ["admin"], parent: 1, deliverables: "a list", assignee: "role:admin" });
    await until("cat sees #2", () => cat.state.taskIds.length === 2, all);

    const list = await run(ada, "!task list");
    expect(list.kind).toBe("ok");
    expect(list.plain.split("\n")).toEqual([expect.stringMatching(/^#1 Fix .* \[new\] → cat · due 2030-01-16 · change agent$/), expect.stringMatching(/^#2 Call the press \[new\] → role:admin · admin$/)]);
    // cat cannot read the admin task: it exists, nothing more.
    const catList = await run(cat, "!tasks ls");
    expect(catList.plain).toMatch(/#2 \(encrypted: not readable with the keys held here\) \[new\] → role:admin · admin/);
    expect(catList.plain).not.toContain("Call the press");
    expect((await run(cat, "!task list --mine")).plain).toMatch(/^#1 Fix/);
    expect((await run(ada, "!task list --mine")).plain).toBe("no tasks");
    expect((await run(ada, "!task list --role admin")).plain).toMatch(/^#2 Call the press[^\n]*$/);
    expect((await run(ada, "!task list --status started")).plain).toBe("no tasks");
  });

  it("comments, sets status, assigns, shows", async () => {
    const id = findTask(cat.state, "1").id;
    const c1 = await run(cat, "!task comment #1 on it, don't worry");
    expect(c1).toMatchObject({ kind: "ok", react: "✅", plain: "commented on #1 (1 comment)" });
    expect(cat.state.tasks.get(id)!.comments).toHaveLength(1);
    expect(await run(cat, `!task status 1 help-wanted`)).toMatchObject({ kind: "ok", react: "✅", plain: "#1 is now help wanted" });
    expect(cat.state.tasks.get(id)!.status).toBe("help wanted");
    expect(await run(ada, "!task assign #1 sam")).toMatchObject({ kind: "ok", plain: "#1 assigned to sam" });
    expect(ada.state.tasks.get(id)!.assignee).toEqual({ member: sam.me });
    await until("sam assigned", () => JSON.stringify(sam.state.tasks.get(id)!.assignee) === JSON.stringify({ member: sam.me }), all);
    // sam reads it now: the assign sealed the task key to sam.
    const show = await run(sam, "!task show #1");
    expect(show.plain).toMatch(/^#1 Fix <script>alert\(1\)<\/script> & door \[help wanted\] → sam/);
    expect(show.plain).toContain("cat: on it, don't worry");
    expect(show.html).toContain("<li><b>cat</b>: on it, don&#39;t worry</li>");
    expect(show.html).not.toContain("<script>");
  });

  it("refuses closing to a member without task.close, and changes nothing", async () => {
    await refused(sam, "!task close #1", "admin", /sam lacks capability task\.close/, /^!task close <id> \[reason\]$/);
    expect(sam.state.tasks.get(findTask(sam.state, "1").id)!.closed).toBe(false);
  });

  it("closes with a reason and reopens", async () => {
    const id = findTask(cat.state, "1").id;
    expect(await run(cat, "!task close 1 all done here")).toMatchObject({ kind: "ok", react: "✅", plain: "#1 closed: all done here" });
    expect(cat.state.tasks.get(id)).toMatchObject({ closed: true, status: "done" });
    expect((await run(cat, "!task show 1")).plain).toContain("closed because: all done here");
    expectError(await run(cat, "!task close 1"), /task #1 is already closed/, /^!task close/);
    expect(await run(cat, "!task reopen #1")).toMatchObject({ kind: "ok", plain: "#1 reopened" });
    expect(cat.state.tasks.get(id)).toMatchObject({ closed: false, status: "started" });
  });

  it("answers malformed commands with the reason and the usage line", async () => {
    await settle();
    const before = ada.session.log.size;
    expectError(await run(ada, `!task create "unterminated title`), /unterminated " quote opened at column 14/, /^!task create "<title>"/m);
    expectError(await run(ada, "!task show"), /missing <id>/, /^!task show <id>$/);
    expectError(await run(ada, "!task comment 1"), /missing <text>/, /^!task comment <id> "<text>"$/);
    expectError(await run(ada, "!task frobnicate 1"), /unknown command !task frobnicate \(!task takes: create, list/, /!task reopen <id>/);
    expectError(await run(ada, "!task"), /!task needs one of: create, list/, /!task create/);
    expectError(await run(ada, `!task create "x" --due 2030-02-30`), /--due: "2030-02-30" is not a date/, /--due DATE/);
    expectError(await run(ada, `!task create "x" --due soon`), /is not a date/, /--due DATE/);
    expectError(await run(ada, "!task show #99"), /no task #99 \(there are 2\)/, /^!task show <id>$/);
    expectError(await run(ada, "!task status 1 finished"), /"finished" is not a status \(one of: new, started/, /^!task status <id> <status>$/);
    expectError(await run(ada, `!task create "x" --colour red`), /unknown option --colour/, /^!task create/);
    expectError(await run(ada, `!task create "x" --role nobody`), /no role named "nobody"/, /^!task create/);
    // Issue 22: the nearest valid value, in both faces.
    expectError(await run(ada, "!task craete x"), /unknown command !task craete; did you mean create\? \(!task takes:/, /^!task create/m);
    expectError(await run(ada, `!task create "x" --role admn`), /no role named "admn"; did you mean admin\?/, /^!task create/);
    expectError(await run(ada, "!task status 1 strated"), /"strated" is not a status; did you mean started\?/, /^!task status <id> <status>$/);
    expectError(await run(ada, `!task assign 1 @zed:example.org`), /no member "@zed"/, /^!task assign <id> <who>$/);
    expectError(await run(ada, "!task show 1 2"), /unexpected "2"/, /^!task show <id>$/);
    await ada.flushed();
    expect(ada.session.log.size).toBe(before);
  });

  it("never throws, whatever follows a command word", async () => {
    const roots = ["task", "role", "rules", "relay", "keys", "pursuance", "announce", "help"];
    const c = ctx(null, "admin");
    c.pursuance.create = c.pursuance.join = async () => {
      throw new Error("no");
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...roots), fc.string({ unit: fc.constantFrom(..."ab #1'\"“”‘’\\-—=@: \t".split("")), maxLength: 30 }), async (root, rest) => {
        const r = await handleCommand(`!${root} ${rest}`, c);
        expect(r === null ? "null" : r.kind).toMatch(/^(ok|error)$/);
      }),
      { numRuns: 300 },
    );
  });

  it("ignores text that is not one of its commands", async () => {
    for (const t of ["hello", "!important meeting", "!!", "! task list", "task list", ""]) expect(await handleCommand(t, ctx(ada))).toBeNull();
  });

  it("answers a command it does not have: a lone !word, or a typo of one of its own", async () => {
    for (const t of ["!foo", "  !frobnicate ", "!taks list", "!rol ls"]) {
      const r = await handleCommand(t, ctx(ada));
      expect(r?.kind).toBe("error");
      expect(r!.plain).toMatch(/^no command !\S+; try !help$/);
    }
  });
});

describe("authorisation", () => {
  it("refuses by the pursuance's rules: a change agent granting a role", async () => {
    await refused(cat, `!role grant sam "change agent"`, "admin", /cat lacks capability role\.grant/, /^!role grant <who> <role>$/);
    expect(cat.state.members.get(sam.me)!.roles.has("change agent")).toBe(false);
  });

  it("refuses by the bridge permission before the rules", async () => {
    await refused(ada, "!role grant sam seedling", "commands", /refused: !role grant needs bridge permission "manage"; you have "commands"/, /^!role grant <who> <role>$/);
    await refused(ada, "!relay add ws://127.0.0.1:1", "manage", /needs bridge permission "admin"/, /^!relay add <url>$/);
    await refused(ada, "!help", "none", /needs bridge permission "commands"; you have "none"/, /^!help \[command\]$/);
  });

  it("refuses commands needing a pursuance in an unbound room", async () => {
    expectError(await run(null, "!task list"), /this room is not bound to a pursuance/, /^!task list/);
  });
});

describe("!help", () => {
  const cmds = async (c: PursuanceClient | null, perm: Permission) => (await run(c, "!help", perm)).plain.split("\n").slice(1).map((l) => l.split(" — ")[0]!.split(/ [<"[]/)[0]!);

  it("lists only what the asker may run: by bridge level and by capability", async () => {
    const adaAdmin = await cmds(ada, "admin");
    expect(adaAdmin).toEqual(expect.arrayContaining(["!task create", "!task close", "!role grant", "!role create", "!relay add", "!announce", "!keys delegate"]));
    expect(adaAdmin).not.toContain("!pursuance create");
    const adaCommands = await cmds(ada, "commands");
    expect(adaCommands).toContain("!task create");
    expect(adaCommands).not.toContain("!role grant");
    expect(adaCommands).not.toContain("!relay add");
    const catAdmin = await cmds(cat, "admin");
    expect(catAdmin).toEqual(expect.arrayContaining(["!task create", "!task close", "!task comment", "!relay list", "!rules"]));
    // Moving the pursuance is the pursuance's decision (relays.change), whatever the bridge allows.
    for (const hidden of ["!role grant", "!role create", "!announce", "!task assign", "!relay add"]) expect(catAdmin).not.toContain(hidden);
    const samAdmin = await cmds(sam, "admin");
    expect(samAdmin).toEqual(expect.arrayContaining(["!task comment", "!task status", "!task list", "!help"]));
    for (const hidden of ["!task create", "!task close", "!task reopen", "!role grant"]) expect(samAdmin).not.toContain(hidden);
    expect((await cmds(null, "admin")).sort()).toEqual(["!digest", "!help", "!pursuance create", "!pursuance join", "!pursuance request"]);
  });

  it("shows one command or family in <required> [optional] form", async () => {
    const one = await run(ada, "!help task create");
    expect(one.plain).toContain('!task create "<title>" [--role R] [--assign WHO] [--due DATE] [--parent ID] [--deliverables TEXT] — create a task');
    expect(one.html).toContain("<code>!task create &#34;&#60;title&#62;&#34; [--role R]");
    expect((await run(ada, "!help !role")).plain).toContain("!role create <name> --rank N [--caps a,b] [--reads role|assigned]");
    expectError(await run(cat, "!help role grant"), /you may not run !role grant here: !role grant needs capability role\.grant/, /^!help/);
    expectError(await run(ada, "!help frobnicate"), /no command !frobnicate/, /^!help/);
  });
});

describe("!role and !rules", () => {
  it("lists roles and shows the rules", async () => {
    const list = await run(cat, "!role list");
    expect(list.plain.split("\n")[0]).toBe("primary (rank 100, reads its tasks): all capabilities; held by ada");
    expect(list.plain).toContain("change agent (rank 40, reads its tasks): task.close, task.comment, task.create, task.update; held by cat");
    expect(list.plain).toContain("seedling (rank 20, reads only tasks assigned to them): task.comment, task.update; held by sam");
    const rules = await run(sam, "!rules");
    expect(rules.plain).toMatch(/^Rules of Watchdogs \(leader: ada\)\n• primary/);
    expect(rules.plain).toContain("succession: 2 holder(s) of admin may move leadership");
    expect(rules.html).toContain("<b>Rules of Watchdogs</b>");
  });

  it("creates a role, refusing a malformed one before it reaches the log", async () => {
    const r = await run(ada, "!role create Field Agent --rank 30 --caps task.comment,task.create", "manage");
    expect(r).toMatchObject({ kind: "ok", react: "✅", plain: "created role field agent (rank 30): task.comment, task.create" });
    expect(ada.state.rules.roles["field agent"]).toEqual({ rank: 30, caps: ["task.comment", "task.create"], reads: "role" });
    await settle();
    const before = ada.session.log.size;
    expectError(await run(ada, "!role create 9lives --rank 10"), /"9lives" is not a role name/, /^!role create <name> --rank N/);
    expectError(await run(ada, "!role create scouts"), /--rank N is required/, /^!role create/);
    expectError(await run(ada, "!role create scouts --rank 10 --caps fly"), /unknown capability "fly"/, /^!role create/);
    expectError(await run(ada, "!role create scouts --rank 200"), /cannot define a role at rank 200, not below own rank 100/, /^!role create/);
    await ada.flushed();
    expect(ada.session.log.size).toBe(before);
  });

  it("grants and revokes, resolving Matrix ids and forgiving role spelling", async () => {
    const g = await run(ada, "!role grant @sam:example.org change-agent", "manage");
    expect(g).toMatchObject({ kind: "ok", react: "✅", plain: "granted change agent to sam" });
    expect(ada.state.members.get(sam.me)!.roles.has("change agent")).toBe(true);
    const r = await run(ada, "!role revoke sam Change Agent", "manage");
    expect(r).toMatchObject({ kind: "ok", plain: "revoked change agent from sam" });
    expect(ada.state.members.get(sam.me)!.roles.has("change agent")).toBe(false);
    expectError(await run(ada, "!role grant sam wizard"), /no role named "wizard" \(roles: /, /^!role grant/);
    await settle();
  });
});

describe("!relay, !keys, !announce, !pursuance", () => {
  it("lists, adds (copying history) and removes relays", async () => {
    const url = relays[2]!.url;
    expect((await run(ada, "!relay list", "commands")).plain.split("\n")).toEqual([expect.stringMatching(/^ws:.* connected, cursor \d+$/), expect.stringMatching(/connected/)]);
    const add = await run(ada, `!relay add ${url}`);
    expect(add).toMatchObject({ kind: "ok", react: "✅" });
    expect(add.plain).toMatch(new RegExp(`^added ${url} and re-posted \\d+ events there$`));
    expect(ada.config.relays).toContain(url);
    expectError(await run(ada, `!relay add ${url}`), /relay already configured/, /^!relay add <url>$/);
    expectError(await run(ada, "!relay add ftp://x"), /"ftp:\/\/x" is not a ws:\/\/ or wss:\/\/ URL/, /^!relay add <url>$/);
    expect(await run(ada, `!relay remove ${url}`)).toMatchObject({ kind: "ok", plain: `removed ${url}` });
    expect(ada.config.relays).not.toContain(url);
  });

  it("reports and changes key custody through the host's port", async () => {
    const st = await run(cat, "!keys status");
    expect(st.plain).toBe("change agent: readable here (delegated by ada)\nadmin: not readable here: its tasks show as encrypted");
    expect(await run(ada, "!keys delegate Change-Agent", "manage")).toMatchObject({ kind: "ok", react: "✅", plain: "now holding change agent for you" });
    expect(await run(ada, "!keys revoke admin", "manage")).toMatchObject({ kind: "ok", plain: "dropped admin" });
    expectError(await run(ada, "!keys delegate seedling", "manage"), /role seedling has no key/, /^!keys delegate <role>$/);
    expect(keyCalls).toEqual(["delegate change agent", "revoke admin"]);
  });

  it("announces for a permitted role only", async () => {
    const r = await run(ada, `!announce "We <b>won</b>"`, "manage");
    expect(r).toMatchObject({ kind: "ok", react: "✅" });
    expect(ada.state.announcements.at(-1)!.text).toBe("We <b>won</b>");
    await refused(cat, `!announce "me too"`, "manage", /cat lacks capability announce/, /^!announce "<text>"$/);
    // Parsed as every receiver would parse it: too long never reaches the log.
    await refused(ada, `!announce ${"x".repeat(8001)}`, "manage", /text must be a string of at most 8000 chars/, /^!announce/);
  });

  it("public announcement rooms: chosen only by a role that may announce; a quoted text is still an announcement", async () => {
    const added: string[] = [];
    const withRooms = (c: PursuanceClient) => ({
      ...ctx(c, "manage"),
      announceRooms: { add: async (a: string) => (added.push(a), `added ${a}`), remove: async (a: string) => `removed ${a}`, list: async () => added },
    });
    expect(await handleCommand("!announce room add #news:our-group.net", withRooms(ada))).toMatchObject({ kind: "ok", plain: "added #news:our-group.net" });
    const r = (await handleCommand("!announce room add #sneaky:their.net", withRooms(cat)))!;
    expect(r).toMatchObject({ kind: "error" });
    expect((r as { reason: string }).reason).toMatch(/only a role allowed to announce/);
    expect(added).toEqual(["#news:our-group.net"]);
    expect((await handleCommand("!announce room list", withRooms(cat)))!).toMatchObject({ kind: "ok", plain: "#news:our-group.net" });
    const before = ada.state.announcements.length;
    expect(await handleCommand('!announce "room add is open on Friday"', withRooms(ada))).toMatchObject({ kind: "ok" });
    expect(ada.state.announcements.at(before)!.text).toBe("room add is open on Friday");
  });

  it("reports a failing port as a failure, not as the user's fault", async () => {
    const c = ctx(ada, "manage");
    c.keys.delegate = async () => {
      throw new Error("database is down");
    };
    const r = (await handleCommand("!keys delegate admin", c))!;
    expect(r).toMatchObject({ kind: "error", reason: "failed: database is down", usage: "!keys delegate <role>", internal: true });
  });

  it("shows status, and creates and joins only in unbound rooms", async () => {
    const st = await run(cat, "!pursuance status", "commands");
    expect(st.plain).toContain(`Watchdogs · id ${ada.id.slice(0, 12)} · leader ada`);
    expect(st.plain).toContain("you: cat (change agent)");
    expect(st.plain).toMatch(/3 members · 2 tasks · \d+ events \(0 pending\) · 0 gaps · 0 equivocations/);
    expect(st.plain).toContain(`state hash ${cat.hash()}`);
    expectError(await run(ada, `!pursuance create "Other"`), /this room is already bound to Watchdogs/, /^!pursuance create "<name>"$/);
    expectError(await run(null, `!pursuance create "Other"`, "commands"), /needs bridge permission "manage"/, /^!pursuance create/);

    const made = await run(null, `!pursuance create “Night <Shift>”`, "manage");
    expect(made).toMatchObject({ kind: "ok", react: "✅" });
    expect(made.plain).toMatch(/^created Night <Shift>; you are its founder \(primary\)/);
    expect(made.html).toContain("<b>Night &#60;Shift&#62;</b>");
    const eve = extra.at(-1)!;
    expect(eve.state).toMatchObject({ name: "Night <Shift>", leader: eve.me });

    expectError(await run(null, "!pursuance join not-an-invite", "manage"), /an invite starts with "pursuance:invite\/"/, /^!pursuance join <invite>$/);
    const joined = await run(null, `!pursuance join ${await invite(eve, "change agent")}`, "manage");
    expect(joined).toMatchObject({ kind: "ok", plain: "joined Night <Shift> as change agent" });
    const fay = extra.at(-1)!;
    expect(fay.state.members.get(fay.me)).toMatchObject({ name: "fay" });
  });

  it("invites: a string for a CLI member, or admits a Matrix user; refused without member.invite", async () => {
    const r = await run(ada, "!pursuance invite --role seedling", "commands");
    expect(r.kind).toBe("ok");
    const code = /pursuance:invite\/\S+/.exec(r.plain)![0];
    const inv = decodeInvite(code);
    expect(inv).toMatchObject({ role: "seedling", pursuanceId: ada.id });
    const before = admitted.length;
    const a = await run(ada, "!pursuance invite @gus:example.org --role seedling", "commands");
    expect(a).toMatchObject({ kind: "ok", plain: "@gus:example.org joined as seedling" });
    expect(admitted.slice(before)).toEqual(["@gus:example.org"]);
    expectError(await run(ada, "!pursuance invite gus"), /not a Matrix user id/, /^!pursuance invite \[who\]/);
    const size = cat.session.log.size;
    expectError(await run(cat, "!pursuance invite @hal:example.org"), /lacks capability member\.invite/, /^!pursuance invite/);
    expect(cat.session.log.size).toBe(size);
  });

  it("an invite printed for a CLI member carries the host's published relay addresses (config inviteRelays)", async () => {
    const own = ada.config.relays;
    const withPublished: BotContext = { ...ctx(ada, "commands"), inviteRelays: (r) => relaysForInvite(r, own, ["ws://published.test/"]) };
    const r = (await handleCommand("!pursuance invite", withPublished))!;
    expect(r.kind).toBe("ok");
    expect(decodeInvite(/pursuance:invite\/\S+/.exec(r.plain)![0]).relays).toEqual(["ws://published.test/"]);
    // Without published addresses: the pursuance's own, as before.
    const plain = await run(ada, "!pursuance invite", "commands");
    expect(decodeInvite(/pursuance:invite\/\S+/.exec(plain.plain)![0]).relays).toEqual(own);
  });

  it("invites expire when asked, are listed with their status, and can be revoked", async () => {
    const r = await run(ada, "!pursuance invite --role seedling --expires 2h", "commands");
    expect(r.kind).toBe("ok");
    const inv = decodeInvite(/pursuance:invite\/\S+/.exec(r.plain)![0]);
    expect(inv.expires - Date.now()).toBeGreaterThan(2 * 3_600_000 - 60_000);
    expect(inv.expires - Date.now()).toBeLessThanOrEqual(2 * 3_600_000);
    expect(r.plain).toContain(`expires ${new Date(inv.expires).toISOString()}`);
    expectError(await run(ada, "!pursuance invite --expires soon"), /--expires: bad duration/, /^!pursuance invite/);
    const id = [...ada.state.invites.entries()].find(([, i]) => i.expires === inv.expires)![0];
    expect((await run(ada, "!pursuance invite list", "commands")).plain).toContain(`${id.slice(0, 12)} open: seedling`);
    await until("cat sees the invite", () => cat.state.invites.has(id), [cat]);
    // A change agent holds no member.invite and is not the inviter.
    expectError(await run(cat, `!pursuance invite revoke ${id.slice(0, 12)}`, "commands"), /lacks capability member\.invite/, /^!pursuance invite revoke/);
    expect(await run(ada, `!pursuance invite revoke ${id.slice(0, 12)}`, "commands")).toMatchObject({ kind: "ok", plain: `revoked invite ${id.slice(0, 12)}` });
    expect((await run(ada, "!pursuance invite list", "commands")).plain).toContain(`${id.slice(0, 12)} revoked: seedling`);
    expectError(await run(ada, `!pursuance invite revoke ${id.slice(0, 12)}`, "commands"), /already revoked/, /^!pursuance invite revoke/);
    expect((await run(ada, "!pursuance status", "commands")).plain).toMatch(/^invites: \d+ open.*, [1-9]\d* revoked$/m);
  });
});

describe("bot replies in the user's words (issue 22)", () => {
  /** What no member should read: our class names, and bare ids where a name exists. */
  const internal = (text: string) => [...text.matchAll(/\b[A-Z][A-Za-z]*Error\b:?|\b[0-9a-f]{12,}\b/g)].map((m) => m[0]);
  const bad: Array<[() => PursuanceClient, string]> = [
    [() => ada, '!task create ""'],
    [() => ada, "!task show 99"],
    [() => ada, "!task assign #1 nobody"],
    [() => ada, "!role grant sam wizard"],
    [() => ada, "!task status #1 finished"],
    [() => ada, "!task create x --due soon"],
    [() => ada, "!task create x --role admn"],
    [() => ada, "!task comment 99 hi"],
    [() => ada, "!task list --due soon"],
    [() => ada, "!task list --assignee nobody"],
    [() => ada, "!task search"],
    [() => sam, "!relay remove ws://127.0.0.1:1"],
    [() => sam, "!task assign #1 ada"],
    [() => sam, "!role grant cat admin"],
    [() => sam, "!task create x --role admin"],
    [() => sam, "!rules policy --quorum x"],
    [() => ada, "!leader vote nobody"],
  ];
  for (const [who, text] of bad) {
    it(`${text}: refused with no class name or bare id`, async () => {
      const r = await run(who(), text);
      expect(r.kind).toBe("error");
      expect(internal(r.plain), r.plain).toEqual([]);
    });
  }
});
