// The bot and the CLI are two faces of the same use cases (src/usecases/):
// for every spelling of a due date, a member and a role that either accepts,
// the other accepts it too and publishes the same event (kind and body, less
// ciphertext and ids); what one refuses, the other refuses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BotContext } from "../src/bot/context.js";
import { handleCommand } from "../src/bot/dispatch.js";
import { MEMBER_COMMANDS, roleStage } from "../src/cli/client-member-commands.js";
import { parse, type Io, type Stage, type Parsed } from "../src/cli/client-context.js";
import { TASK_COMMANDS, taskStage } from "../src/cli/client-task-commands.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import type { Body } from "../src/pursuance/events.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const opts = { fallbackDutyMs: 300, repairDelayMs: 50, repairIntervalMs: 300 };

let relay: RelayServer;
let ada: PursuanceClient, sam: PursuanceClient;
/** What ada's client published during one request. */
const published: Body[] = [];

type Outcome = { ok: true; events: unknown[] } | { ok: false; why: string };

/** Fields a request does not decide: ciphertext, sealed keys and key ids (fresh each time), the origin tag. */
const UNDECIDED = new Set(["content", "memberKey", "keys", "sealed", "keyId", "from", "via"]);

function decided(b: Body): unknown {
  return Object.fromEntries(Object.entries(b).filter(([k]) => !UNDECIDED.has(k)));
}

function botCtx(): BotContext {
  return {
    client: ada,
    sender: "@ada:example.org",
    permission: "admin",
    resolveUser: (ref) => ({ "@ada:example.org": ada.me, "@sam:example.org": sam.me })[ref] ?? null,
    now: () => ada.ports.now(),
  } as BotContext;
}

const quote = (w: string) => (/^[\w#:@+.-]+$/.test(w) ? w : `"${w}"`);

async function viaBot(words: string[]): Promise<Outcome> {
  published.length = 0;
  const r = (await handleCommand(`!${words.map(quote).join(" ")}`, botCtx()))!;
  if (r.kind === "error") return { ok: false, why: r.reason };
  return { ok: true, events: published.map(decided) };
}

const quiet: Io = { out: () => {}, err: () => {} };

async function viaCli(words: string[], stage: (p: Parsed) => Stage, options: Parameters<typeof parse>[1]): Promise<Outcome> {
  published.length = 0;
  try {
    await stage(parse(words.slice(1), options))(ada, quiet); // words[0] names the command, as runClientCommand strips it
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  return { ok: true, events: published.map(decided) };
}

const cliTask = (words: string[]) => viaCli(words, taskStage, TASK_COMMANDS.task!.options);
const cliRole = (words: string[]) => viaCli(words, roleStage, MEMBER_COMMANDS.role!.options);

/** Both faces on the same request: the same verdict, and when accepted the same events. */
async function agree(bot: string[], cli: () => Promise<Outcome>, expectOk: boolean, undo?: () => Promise<void>): Promise<void> {
  const b = await viaBot(bot);
  if (b.ok && undo) await undo();
  const c = await cli();
  if (c.ok && undo) await undo();
  expect({ bot: b.ok, cli: c.ok }, `${bot.join(" ")}: bot ${b.ok ? "accepted" : `refused (${(b as { why: string }).why})`}, CLI ${c.ok ? "accepted" : `refused (${(c as { why: string }).why})`}`).toEqual({ bot: expectOk, cli: expectOk });
  if (b.ok && c.ok) {
    expect(c.events).toEqual(b.events);
    expect(b.events.length).toBeGreaterThan(0);
  }
}

beforeAll(async () => {
  relay = await startRelay();
  ada = await PursuanceClient.create(await ports(), await identity(), { name: "Watchdogs", founderName: "ada", relays: [relay.url], ...opts });
  sam = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await ada.createInvite("seedling"))), "sam", opts);
  await until("two members", () => [ada, sam].every((c) => c.state.members.size === 2), [ada, sam]);
  const publishNow = ada.publishNow.bind(ada);
  ada.publishNow = async (body, epoch, o) => {
    published.push(body);
    return publishNow(body, epoch, o);
  };
  // One task every request below works on.
  await ada.publish({ t: "announce", text: "ready" });
  expect((await viaBot(["task", "create", "shared task"])).ok).toBe(true);
});

afterAll(async () => {
  ada?.close();
  sam?.close();
  await relay?.close();
});

describe("the bot and the CLI accept the same spellings and publish the same events", () => {
  const dues: Array<[string, boolean]> = [
    ["2030-02-28", true], ["today", true], ["Tomorrow", true], ["+3d", true], ["+2w", true], ["2032-02-29", true],
    ["2030-02-30", false], ["2031-02-29", false], ["2030-13-01", false], ["2030-2-3", false], ["soon", false], ["+3m", false], ["31/12/2030", false],
  ];
  for (const [due, ok] of dues) {
    it(`task create --due ${due}`, async () => {
      const words = ["task", "create", "a task", "--due", due];
      await agree(words, () => cliTask(words), ok);
    });
  }

  const assignees: Array<[string, boolean]> = [
    ["sam", true], ["@sam", true], ["SAM", true], ["@sam:example.org", true], ["me", true], ["none", true],
    ["role:admin", true], ["admin", true], ["Change-Agent", true], ["role:change_agent", true],
    ["nobody", false], ["role:wizard", false], ["@nobody:example.org", false],
  ];
  for (const [who, ok] of assignees) {
    it(`task assign #1 ${who}`, async () => {
      const words = ["task", "assign", "#1", who];
      await agree(words, () => cliTask(words), ok);
    });
    it(`task create --assign ${who}`, async () => {
      const words = ["task", "create", "assigned task", "--assign", who];
      await agree(words, () => cliTask(words), ok);
    });
  }

  it("member ids by prefix and in full", async () => {
    for (const who of [sam.me.slice(0, 8), sam.me, sam.me.slice(0, 4)]) {
      const words = ["task", "assign", "#1", who];
      await agree(words, () => cliTask(words), who.length >= 8);
    }
  });

  const statuses: Array<[string, boolean]> = [["started", true], ["help wanted", true], ["Help-Wanted", true], ["ready_for_review", true], ["finished", false]];
  for (const [st, ok] of statuses) {
    it(`task status #1 ${st}`, async () => {
      const words = ["task", "status", "#1", st];
      await agree(words, () => cliTask(words), ok);
    });
  }

  const roles: Array<[string, boolean]> = [["change agent", true], ["Change Agent", true], ["change-agent", true], ["CHANGE_AGENT", true], ["role:change agent", true], ["wizard", false]];
  const members: Array<[string, boolean]> = [["sam", true], ["@sam", true], ["@sam:example.org", true], ["nobody", false]];
  for (const [role, roleOk] of roles) {
    for (const [who, whoOk] of members) {
      it(`role grant ${who} ${role}`, async () => {
        const words = ["role", "grant", who, role];
        // What was granted is taken back before the other face asks.
        const undo = async () => {
          expect((await viaBot(["role", "revoke", sam.me, "change agent"])).ok).toBe(true);
        };
        await agree(words, () => cliRole(words), roleOk && whoOk, undo);
      });
    }
  }

  const newRoles: Array<[string, string, boolean]> = [
    ["scouts", "task.comment,task.create", true], ["Field  Agent", "task.create, task.comment,task.create", true], ["runners", "", true],
    ["9lives", "task.comment", false], ["group", "task.comment", false], ["scouts", "fly", false],
  ];
  for (const [name, caps, ok] of newRoles) {
    it(`role create ${name} --caps ${caps}`, async () => {
      const words = ["role", "create", name, "--rank", "5", "--caps", caps];
      const before = new Set(Object.keys(ada.state.rules.roles));
      const undo = async () => {
        const made = Object.keys(ada.state.rules.roles).find((r) => !before.has(r))!;
        const r = await viaBot(["role", "delete", made]);
        expect(r).toMatchObject({ ok: true });
      };
      await agree(words, () => cliRole(words), ok, undo);
    });
  }

  it("role revoke: the same body from both faces", async () => {
    const grant = async () => {
      expect((await viaBot(["role", "grant", sam.me, "change agent"])).ok).toBe(true);
    };
    await grant();
    const words = ["role", "revoke", "@sam", "Change-Agent"];
    await agree(words, () => cliRole(words), true, grant);
    expect((await viaBot(["role", "revoke", "sam", "change agent"])).ok).toBe(true);
  });
});

describe("the bot and the CLI find the same work: task list's filters and task search", () => {
  /** Task numbers in the order each face lists them, or the refusal. */
  async function botList(words: string[]): Promise<number[] | string> {
    const r = (await handleCommand(`!${words.map(quote).join(" ")}`, botCtx()))!;
    if (r.kind === "error") return `refused: ${r.reason}`;
    return [...r.plain.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]));
  }
  async function cliList(words: string[]): Promise<number[] | string> {
    const out: string[] = [];
    try {
      await taskStage(parse([...words.slice(1), "--json"], TASK_COMMANDS.task!.options))(ada, { out: (l) => out.push(l), err: () => {} });
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    }
    return (JSON.parse(out.join("\n")) as Array<{ num: number }>).map((v) => v.num);
  }

  let nums: Record<string, number> = {};
  beforeAll(async () => {
    const made = async (title: string, ...flags: string[]) => {
      const r = (await handleCommand(`!task create ${quote(title)} ${flags.map(quote).join(" ")}`, botCtx()))!;
      expect(r.kind).toBe("task-created");
      return (r as { task: { num: number } }).task.num;
    };
    nums = {
      late: await made("report on the records request", "--due", "2020-01-01", "--assign", "me"),
      soon: await made("call the archive", "--due", "+3d", "--assign", "sam"),
      later: await made("records appeal", "--due", "+30d", "--assign", "me"),
      undated: await made("press list", "--assign", "role:admin"),
    };
    expect((await viaBot(["task", "comment", `#${nums.undated}`, "ask the records office too"])).ok).toBe(true);
  });

  const queries: string[][] = [
    ["task", "list", "--mine"],
    ["task", "list", "--due", "14d"],
    ["task", "list", "--due", "+2w"],
    ["task", "list", "--overdue"],
    ["task", "list", "--assignee", "sam"],
    ["task", "list", "--assignee", "@sam:example.org"],
    ["task", "list", "--mine", "--due", "60d"],
    ["task", "search", "records"],
    ["task", "search", "RECORDS", "office"],
    ["task", "search", "records", "--mine"],
    ["task", "list", "--due", "soon"],
    ["task", "list", "--assignee", "nobody"],
    ["task", "list", "--status", "finished"],
  ];
  for (const q of queries) {
    it(q.join(" "), async () => {
      const [b, c] = [await botList(q), await cliList(q)];
      if (typeof b === "string" || typeof c === "string") {
        expect(typeof b, `bot: ${String(b)}; CLI: ${String(c)}`).toBe("string");
        expect(typeof c, `bot: ${String(b)}; CLI: ${String(c)}`).toBe("string");
      } else expect(c).toEqual(b);
    });
  }

  it("lists overdue first, then by due date, undated last; filters mean what they say", async () => {
    const all = await cliList(["task", "list"]);
    expect(typeof all).not.toBe("string");
    const order = all as number[];
    expect(order.indexOf(nums.late!)).toBe(0);
    expect(order.indexOf(nums.soon!)).toBeLessThan(order.indexOf(nums.later!));
    expect(order.indexOf(nums.later!)).toBeLessThan(order.indexOf(nums.undated!));
    // Earlier tests made tasks too: look at these four only.
    const ours = async (q: string[]) => ((await cliList(q)) as number[]).filter((n) => Object.values(nums).includes(n));
    expect(await ours(["task", "list", "--overdue"])).toEqual([nums.late]);
    expect(await ours(["task", "list", "--due", "14d", "--mine"])).toEqual([nums.late]);
    expect(await ours(["task", "list", "--assignee", "sam"])).toEqual([nums.soon]);
    expect(await ours(["task", "search", "records", "office"])).toEqual([nums.undated]);
    // The undated task is assigned to the admin role, which ada (the founder) does not hold.
    expect(await ours(["task", "list", "--mine"])).toEqual([nums.late, nums.later]);
    expect(await cliList(["task", "list", "--due", "soon"])).toMatch(/"soon" is neither a span/);
  });
});

describe("the bot and the CLI label and prioritise alike (labels sealed, vocabulary in the rules)", () => {
  const view = () => ada.state.tasks.get(ada.state.taskIds[0]!)!;
  const labelsNow = async () => {
    const { taskView } = await import("../src/pursuance/views.js");
    const v = taskView(ada, view());
    return { labels: v.labels, priority: v.priority };
  };
  /** Back to no labels and normal priority, through the bot (any face would do). */
  const reset = async () => {
    const { labels } = await labelsNow();
    if (labels.length > 0) expect((await viaBot(["task", "label", "#1", ...labels.map((l) => `-${l}`)])).ok).toBe(true);
    expect((await viaBot(["task", "priority", "#1", "normal"])).ok).toBe(true);
  };
  const runs: Array<[string[], boolean]> = [
    [["task", "label", "#1", "+urgent", "legal"], true],
    [["task", "label", "#1", "URGENT,+later"], true],
    [["task", "label", "#1", "-later"], true],
    [["task", "label", "#1", "+urgentt"], false],
    [["task", "label", "#1", "+no such"], false],
    [["task", "priority", "#1", "High"], true],
    [["task", "priority", "#1", "asap"], false],
  ];
  for (const [words, ok] of runs) {
    it(words.join(" "), async () => {
      await reset();
      const b = await viaBot(words);
      const afterBot = await labelsNow();
      await reset();
      const c = await cliTask(words);
      const afterCli = await labelsNow();
      expect({ bot: b.ok, cli: c.ok }, JSON.stringify({ b, c })).toEqual({ bot: ok, cli: ok });
      expect(afterCli).toEqual(afterBot);
      if (ok) expect(b.ok && b.events.map((e) => (e as { t: string }).t)).toEqual(["task.meta"]);
    });
  }

  it("a refused label names the value and the labels there are, and changes nothing", async () => {
    await reset();
    const before = ada.state.applied;
    const r = await cliTask(["task", "label", "#1", "+urgentt"]);
    expect(r).toMatchObject({ ok: false });
    expect((r as { why: string }).why).toMatch(/no label "urgentt"; did you mean urgent\? \(labels: .*urgent/);
    expect(ada.state.applied).toBe(before);
  });

  it("--label lists tasks carrying it, from both faces; an unknown one is refused by both", async () => {
    await reset();
    expect((await viaBot(["task", "label", "#1", "+research"])).ok).toBe(true);
    const botNums = async (q: string) => {
      const r = (await handleCommand(q, botCtx()))!;
      return r.kind === "error" ? `refused: ${r.reason}` : [...r.plain.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]));
    };
    const out: string[] = [];
    await taskStage(parse(["list", "--label", "Research", "--json"], TASK_COMMANDS.task!.options))(ada, { out: (l) => out.push(l), err: () => {} });
    const cli = (JSON.parse(out.join("\n")) as Array<{ num: number; labels: string[] }>);
    expect(cli.map((v) => v.num)).toEqual([1]);
    expect(cli[0]!.labels).toEqual(["research"]);
    expect(await botNums("!task list --label research")).toEqual([1]);
    expect(await botNums("!task list --label nope")).toMatch(/refused: no label "nope"/);
  });

  it("the leader sets the vocabulary from either face", async () => {
    const b = await viaBot(["rules", "policy", "--labels", "urgent,Press,later"]);
    expect(b).toMatchObject({ ok: true });
    expect(ada.state.rules.labels).toEqual(["later", "press", "urgent"]);
    // The CLI's --labels goes through the same parser: the same set, in the same order.
    const { parseLabelVocabulary } = await import("../src/usecases/labels.js");
    expect([...parseLabelVocabulary("urgent press,Later")].sort()).toEqual(ada.state.rules.labels);
    expect((await viaBot(["rules", "policy", "--labels", "Bad Label!"])).ok).toBe(false);
    expect((await viaBot(["task", "label", "#1", "+press"])).ok).toBe(true);
  });
});
