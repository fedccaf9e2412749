// Whoever reads a task reads the same thing (attackers atk11 and atk12):
// a key counts only if it opens the task's first text, so a creator who wraps
// a different key for one reader role, or an assigner who seals a key of
// their own to the assignee, cannot split the readers; a member whose role
// was taken is shown nothing written after, though their ring keeps the key;
// and a label the rules do not name is not shown.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex } from "../src/cwtch/bytes.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { grantBody, metaBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import type { Body } from "../src/pursuance/events.js";
import { NO_KEY } from "../src/pursuance/state.js";
import { openContentKey, sealContentKeyTo, sealTaskContent } from "../src/pursuance/task-crypto.js";
import { taskView } from "../src/pursuance/views.js";
import { clientEnv } from "../src/usecases/env.js";
import { labelTask } from "../src/usecases/labels.js";
import { commentOnTask } from "../src/usecases/tasks.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const opts = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };

describe("one key per task, and only the rules' readers", () => {
  let relay: RelayServer;
  let ada: PursuanceClient, cas: PursuanceClient, bob: PursuanceClient, sam: PursuanceClient;
  let all: PursuanceClient[];

  beforeAll(async () => {
    relay = await startRelay();
    ada = await PursuanceClient.create(await ports(), await identity(), { name: "Bound", founderName: "ada", relays: [relay.url], ...opts });
    cas = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("seedling"), "cas", opts);
    bob = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("seedling"), "bob", opts);
    sam = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("seedling"), "sam", opts);
    await ada.publish((s) => grantBody(ada.actor, s, cas.me, "recruiter"));
    await ada.publish((s) => grantBody(ada.actor, s, bob.me, "change agent"));
    all = [ada, cas, bob, sam];
    const holds = (c: PursuanceClient, scope: string) => c.state.keys.get(scope)!.holders.has(c.me) && c.ring.get(c.state.keys.get(scope)!.keyId) !== undefined;
    await until("keys shared", () => holds(cas, "recruiter") && holds(cas, "change agent") && holds(bob, "change agent"), all);
  });
  afterAll(async () => {
    for (const c of all) c?.close();
    await relay?.close();
  });

  /** A task.create whose "change agent" wrap holds another key than the one the text is sealed under. */
  function splitTask(): Body {
    const s = ada.state;
    const keyOf = (role: string) => ({ role, keyId: s.keys.get(role)!.keyId, key: ada.ring.get(s.keys.get(role)!.keyId)!.key });
    const real = sealTaskContent(ada.crypto, { title: "the real plan", deliverables: "" }, [keyOf("recruiter")], []);
    const decoy = sealTaskContent(ada.crypto, { title: "a decoy", deliverables: "" }, [keyOf("change agent")], []);
    // The wrong wrap first: a reader who takes the first wrap that opens takes the wrong key.
    const wraps = { "change agent": decoy.content.wraps["change agent"]!, recruiter: real.content.wraps.recruiter! };
    return { t: "task.create", readers: ["change agent", "recruiter"], assignee: null, parent: null, due: null, content: { ...real.content, wraps } };
  }

  it("a creator's second key reads as none: every reader who reads, reads the same text and labels", async () => {
    const { id } = await ada.publish(splitTask());
    await until("all hold it", () => all.every((c) => c.state.tasks.has(id)), all);
    expect(taskView(ada, ada.state.tasks.get(id)!).title).toBe("the real plan");
    expect(taskView(cas, cas.state.tasks.get(id)!).title).toBe("the real plan");
    // bob holds only the decoy's key: it is not the task's, so he reads nothing (never "a decoy" for the plan).
    expect(taskView(bob, bob.state.tasks.get(id)!).title).toBeNull();
    const num = ada.state.tasks.get(id)!.num;
    await labelTask(clientEnv(ada), { task: `#${num}`, labels: "+urgent" });
    await commentOnTask(clientEnv(ada), { task: `#${num}`, text: "only for the plan's readers" });
    await until("cas folded them", () => cas.hash() === ada.hash(), [ada, cas]);
    const v = taskView(cas, cas.state.tasks.get(id)!);
    expect(v.labels).toEqual(["urgent"]);
    expect(v.comments.map((c) => c.text)).toEqual(["only for the plan's readers"]);
  });

  it("a key of the assigner's own sealed to the assignee opens nothing", async () => {
    const { id } = await cas.publish((st) => {
      const k = st.keys.get("change agent")!;
      const { content } = sealTaskContent(cas.crypto, { title: "brief", deliverables: "" }, [{ role: "change agent", keyId: k.keyId, key: cas.ring.get(k.keyId)!.key }], []);
      return { t: "task.create", readers: ["change agent"], assignee: null, parent: null, due: null, content };
    });
    const fake = cas.crypto.randomBytes(32);
    await cas.publish({ t: "task.assign", task: id, assignee: { member: sam.me }, memberKey: sealContentKeyTo(cas.crypto, fake, fromHex(sam.me)) });
    await until("sam holds the assignment", () => sam.state.tasks.get(id)?.memberKeys[sam.me] !== undefined, [cas, sam]);
    const t = sam.state.tasks.get(id)!;
    expect(openContentKey(sam.crypto, sam.ring, sam.identity, sam.me, t)).toBeNull();
    expect(taskView(sam, t).title).toBeNull();
  });

  it("a member whose role was taken is shown nothing written after, though the key stays in their ring", async () => {
    const { id } = await ada.publish((st) => {
      const k = st.keys.get("change agent")!;
      const { content } = sealTaskContent(ada.crypto, { title: "field notes", deliverables: "" }, [{ role: "change agent", keyId: k.keyId, key: ada.ring.get(k.keyId)!.key }], []);
      return { t: "task.create", readers: ["change agent"], assignee: null, parent: null, due: null, content };
    });
    await until("bob reads it", () => bob.state.tasks.has(id) && taskView(bob, bob.state.tasks.get(id)!).title === "field notes", all);
    await ada.publish({ t: "role.revoke", member: bob.me, role: "change agent" });
    await until("bob has lost the role", () => !bob.state.members.get(bob.me)!.roles.has("change agent") && ada.state.keys.get("change agent")!.keyId !== NO_KEY, all);
    const num = ada.state.tasks.get(id)!.num;
    await labelTask(clientEnv(ada), { task: `#${num}`, labels: "+security" });
    await commentOnTask(clientEnv(ada), { task: `#${num}`, text: "written after bob left the role" });
    await until("bob folded both", () => bob.state.tasks.get(id)!.meta !== undefined && bob.state.tasks.get(id)!.comments.length === 1, all);
    // His ring still opens the task's key…
    expect(openContentKey(bob.crypto, bob.ring, bob.identity, bob.me, bob.state.tasks.get(id)!)).not.toBeNull();
    // …but his client shows the task as it was when he could read it, and nothing written since.
    const v = taskView(bob, bob.state.tasks.get(id)!);
    expect(v).toMatchObject({ title: "field notes", labels: [], priority: null });
    expect(v.comments.map((c) => c.text)).toEqual([null]);
    await expect(labelTask(clientEnv(bob), { task: `#${num}`, labels: "+urgent" })).rejects.toThrow(/not readable with your roles/);
  });

  it("a label the rules do not name is not shown, the others are", async () => {
    const id = ada.state.taskIds[0]!;
    await ada.publish(metaBody(ada.actor, ada.state.tasks.get(id)!, { labels: ["fired-bob", "urgent"], priority: "high" }));
    await until("cas folded it", () => cas.hash() === ada.hash(), [ada, cas]);
    for (const c of [ada, cas]) expect(taskView(c, c.state.tasks.get(id)!)).toMatchObject({ labels: ["urgent"], priority: "high" });
  });
});
