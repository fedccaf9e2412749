// Labels and priority (task.meta): sealed under the task's key, so only its
// readers learn which task carries which label; the rules say who may set
// them (task.update, and reading the task), the readers check what they say.
// Three real clients on a real relay; every write goes through the rules.
import ICAL from "ical.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { commentBody, grantBody, metaBody, taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { taskView } from "../src/pursuance/views.js";
import { clientEnv } from "../src/usecases/env.js";
import { labelTask, prioritizeTask } from "../src/usecases/labels.js";
import { exportTasks } from "../src/usecases/task-export.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

let relay: RelayServer;
let ada: PursuanceClient, cas: PursuanceClient, sam: PursuanceClient;
let adminTask: string, agentTask: string;

beforeAll(async () => {
  relay = await startRelay();
  ada = await PursuanceClient.create(await ports(), await identity(), { name: "Watchdogs", founderName: "ada", relays: [relay.url] });
  cas = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("seedling"), "cas");
  sam = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("seedling"), "sam");
  await ada.publish((s) => grantBody(ada.actor, s, cas.me, "change agent"));
  adminTask = (await ada.publish((s) => taskCreateBody(ada.actor, s, { text: { title: "admins only", deliverables: "" }, readers: ["admin"] }))).id;
  agentTask = (await ada.publish((s) => taskCreateBody(ada.actor, s, { text: { title: "field work", deliverables: "" }, readers: ["change agent"] }))).id;
  const all = [ada, cas, sam];
  await until("everyone has both tasks and cas its key", () => all.every((c) => c.state.taskIds.length === 2) && taskView(cas, cas.state.tasks.get(agentTask)!).title !== null, all);
});
afterAll(async () => {
  for (const c of [ada, cas, sam]) c?.close();
  await relay?.close();
});

const env = (c: PursuanceClient) => clientEnv(c);
const view = (c: PursuanceClient, id: string) => taskView(c, c.state.tasks.get(id)!);

describe("labels and priority", () => {
  it("a reader with task.update labels a task; every reader sees the same labels, a non-reader sees none and learns nothing", async () => {
    const r = await labelTask(env(cas), { task: "#2", labels: "+urgent legal" });
    expect(r.labels).toEqual(["legal", "urgent"]);
    await prioritizeTask(env(cas), { task: "#2", priority: "HIGH" });
    const all = [ada, cas, sam];
    await until("all folded the labels", () => all.every((c) => c.state.tasks.get(agentTask)!.meta !== undefined && c.hash() === ada.hash()), all);
    for (const c of [ada, cas]) expect(view(c, agentTask)).toMatchObject({ labels: ["legal", "urgent"], priority: "high" });
    // sam (a seedling, not assigned) reads neither the task nor its labels.
    expect(view(sam, agentTask)).toMatchObject({ title: null, labels: [], priority: null });
    // The sealed bytes say nothing of the labels.
    expect(JSON.stringify(sam.state.tasks.get(agentTask)!.meta)).not.toMatch(/urgent|legal|high/);
  });

  it("who may not read the task may not label it, and a seedling without the role cannot either", async () => {
    // cas holds "change agent", which does not read the admin task.
    await expect(labelTask(env(cas), { task: "#1", labels: "+urgent" })).rejects.toThrow(/not readable with your roles/);
    // Forged past the use case: the rules refuse it, the same for every client.
    const forged = { t: "task.meta" as const, task: adminTask, meta: { nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ct: "AAAA" } };
    expect(cas.refusal(forged)).toMatch(/cannot read task #1/);
    expect(sam.refusal({ ...forged, task: agentTask })).toMatch(/cannot read task #2/);
  });

  it("meta that does not open as labels (a comment's ciphertext replayed, junk) reads as unreadable for every reader, alike", async () => {
    const comment = commentBody(ada.actor, ada.state.tasks.get(agentTask)!, '{"labels":["urgent"],"priority":"urgent"}');
    if (comment.t !== "task.comment") throw new Error("not a comment");
    // A member with the right to label sends a comment's ciphertext as meta: same key, other purpose.
    await ada.publish({ t: "task.meta", task: agentTask, meta: comment.content });
    await until("cas folded it", () => cas.hash() === ada.hash(), [ada, cas]);
    for (const c of [ada, cas]) expect(view(c, agentTask)).toMatchObject({ labels: [], priority: null });
    // Labels outside the vocabulary's shape are refused by readers too (sealed by hand, past the use case).
    await ada.publish(metaBody(ada.actor, ada.state.tasks.get(agentTask)!, { labels: ["Not A Label"], priority: "low" }));
    await until("cas folded it", () => cas.hash() === ada.hash(), [ada, cas]);
    for (const c of [ada, cas]) expect(view(c, agentTask)).toMatchObject({ labels: [], priority: null });
    // And a good one after puts things right.
    await labelTask(env(ada), { task: "#2", labels: "+later" });
    await until("cas folded it", () => cas.hash() === ada.hash(), [ada, cas]);
    expect(view(cas, agentTask)).toMatchObject({ labels: ["later"], priority: "normal" });
  });

  it("an archived task keeps its labels and takes no more", async () => {
    await ada.publish({ t: "task.archive", task: adminTask });
    await expect(labelTask(env(ada), { task: "#1", labels: "+urgent" })).rejects.toThrow(/archived/);
  });

  it("export carries labels and priority: ICS CATEGORIES and PRIORITY, read back by ical.js", async () => {
    await prioritizeTask(env(cas), { task: "#2", priority: "urgent" });
    const ics = exportTasks({ client: cas, now: () => Date.parse("2026-12-05T12:00:00Z") }, "ics", "Watchdogs");
    const todo = new ICAL.Component(ICAL.parse(ics)).getAllSubcomponents("vtodo").find((t) => String(t.getFirstPropertyValue("summary")).includes("field work"))!;
    expect(todo.getFirstPropertyValue("priority")).toBe(1);
    expect(todo.getFirstProperty("categories")!.getValues()).toEqual(["change agent", "later"]);
  });
});
