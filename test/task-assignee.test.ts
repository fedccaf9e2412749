// A member's rights on a task that came only from being its assignee end when
// the assignment ends (docs/protocol.md, "Tasks"): re-assigned away or
// un-assigned, a seedling can no longer comment on, update or re-assign a task
// of a role it cannot read.
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { commentBody } from "../src/pursuance/actions.js";
import { canReadTask } from "../src/pursuance/state.js";
import { converge, expectApplied, expectRejected, ladder, memoVerifyCrypto, taskIn } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

function world(seed: number) {
  return ladder(base, seed, { R: ["recruiter", "recruiter"], C: ["agent", "change agent"], S: ["seedling", "seedling"], S2: ["seedling2", "seedling"] });
}

describe("a task's assignee loses it with the assignment", () => {
  it("re-assigned to another member, the seedling can no longer comment on or rewrite a recruiter-only task", () => {
    const { h, R, C, S } = world(41);
    const t = h.task(R, ["recruiter"], { title: "recruiters only", assignee: { member: S.hex } });
    const before = h.emit(S, (s) => commentBody(S.actor, taskIn(s, t.id), "while assigned"))!;
    const re = h.assign(R, t, { member: C.hex });
    const cm = h.emit(S, { t: "task.comment", task: t.id, content: h.fakeCiphertext() })!;
    const up = h.emit(S, { t: "task.update", task: t.id, content: h.fakeCiphertext(), status: "help wanted" })!;
    const st = h.emit(S, { t: "task.update", task: t.id, status: "started" })!;
    const f = converge(crypto, h, 8, 41);
    expectApplied(f, before);
    expectApplied(f, re);
    for (const e of [cm, up, st]) expectRejected(f, e, /cannot read task/);
    const task = f.state.tasks.get(t.id)!;
    expect(canReadTask(f.state, S.hex, task)).toBe(false);
    expect(task.memberKeys[S.hex]).toBeUndefined();
  });

  it("un-assigned (assignee null), the seedling can no longer comment", () => {
    const { h, R, S } = world(43);
    const t = h.task(R, ["recruiter"], { title: "recruiters only", assignee: { member: S.hex } });
    h.assign(R, t, null);
    const cm = h.emit(S, { t: "task.comment", task: t.id, content: h.fakeCiphertext() })!;
    const f = converge(crypto, h, 8, 43);
    expectRejected(f, cm, /cannot read task/);
  });

  it("re-assigned back, a new seal is needed and the seedling can act again; the new assignee acts meanwhile", () => {
    const { h, R, S, S2 } = world(44);
    const t = h.task(R, ["recruiter"], { title: "recruiters only", assignee: { member: S.hex } });
    h.assign(R, t, { member: S2.hex });
    const other = h.emit(S2, (s) => commentBody(S2.actor, taskIn(s, t.id), "mine now"))!;
    const back = h.assign(R, t, { member: S.hex });
    const again = h.emit(S, (s) => commentBody(S.actor, taskIn(s, t.id), "back"))!;
    const gone = h.emit(S2, { t: "task.comment", task: t.id, content: h.fakeCiphertext() })!;
    const f = converge(crypto, h, 8, 44);
    expectApplied(f, other);
    expectApplied(f, back);
    expect((back.body as { memberKey?: string }).memberKey).toBeDefined();
    expectApplied(f, again);
    expectRejected(f, gone, /cannot read task/);
  });

  it("a member who reads the task through a role keeps acting on it after being un-assigned", () => {
    const { h, F, R } = world(45);
    const t = h.task(F, ["recruiter"], { title: "recruiters", assignee: { member: R.hex } });
    h.assign(F, t, null);
    const cm = h.emit(R, (s) => commentBody(R.actor, taskIn(s, t.id), "still a reader"))!;
    expectApplied(converge(crypto, h, 6, 45), cm);
  });
});
