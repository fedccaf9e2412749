// Finding one's work never shows what one may not read: over random histories
// (joins, grants, revokes, removals, rotations, tasks with readers and
// assignees, concurrent and dishonest writers), for every member, `--mine` and
// a word search list only tasks the rules let that member read and whose text
// its keys open; and search finds every such task that holds the words.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { foldAll } from "../src/pursuance/fold.js";
import { canReadTask } from "../src/pursuance/state.js";
import { taskView } from "../src/pursuance/views.js";
import { openContentKey } from "../src/pursuance/task-crypto.js";
import { findTasks, type TaskReader } from "../src/usecases/task-queries.js";
import { memoVerifyCrypto, quietly, randomHistory } from "./helpers/history.js";

let base: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
});

describe("task list --mine and task search, by property over random histories", () => {
  it("list only what the member may read, and search finds all of it that matches", () => {
    let checkedTasks = 0;
    let hidden = 0;
    let labelled = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const { h } = randomHistory(base, seed, 90);
        const state = quietly(() => foldAll(memoVerifyCrypto(base), h.events, h.genesisId).state);
        const words = new Set<string>();
        const readers: TaskReader[] = [...h.members.values()].map((m) => ({ client: { state, me: m.hex, crypto: base, ring: m.ring, identity: m.kp }, now: () => 1_700_000_000_000 }));
        for (const r of readers) for (const id of state.taskIds) for (const w of (taskView(r.client, state.tasks.get(id)!).title ?? "").toLowerCase().split(/\s+/)) if (w) words.add(w);
        const sample = [...words].slice(0, 6);
        for (const r of readers) {
          const me = r.client.me;
          const mayRead = (id: string) => canReadTask(state, me, state.tasks.get(id)!) && taskView(r.client, state.tasks.get(id)!).title !== null;
          for (const v of findTasks(r, { mine: true, all: true })) {
            expect(mayRead(v.id), `--mine listed #${v.num} to ${me.slice(0, 8)}, who may not read it`).toBe(true);
            checkedTasks++;
          }
          // Labels are sealed with the task: --label lists only readable tasks, and every readable one carrying it.
          for (const label of ["urgent", "legal"]) {
            const found = findTasks(r, { label, all: true }).map((v) => v.id);
            for (const id of found) expect(mayRead(id), `--label ${label} listed a task ${me.slice(0, 8)} may not read`).toBe(true);
            const carrying = state.taskIds.filter((id) => mayRead(id) && taskView(r.client, state.tasks.get(id)!).labels.includes(label));
            expect(found.sort()).toEqual(carrying.sort());
            labelled += found.length;
          }
          for (const w of sample) {
            const found = findTasks(r, { words: w, all: true }).map((v) => v.id);
            for (const id of found) expect(mayRead(id), `search "${w}" listed a task ${me.slice(0, 8)} may not read`).toBe(true);
            const expected = state.taskIds.filter((id) => mayRead(id) && JSON.stringify(taskView(r.client, state.tasks.get(id)!)).toLowerCase().includes(w));
            const keysOpenButRulesSayNo = state.taskIds.filter((id) => !canReadTask(state, me, state.tasks.get(id)!) && openContentKey(base, r.client.ring, r.client.identity, me, state.tasks.get(id)!) !== null);
            hidden += keysOpenButRulesSayNo.length;
            for (const id of found) expect(expected).toContain(id);
            checkedTasks += found.length;
          }
        }
      }),
      { numRuns: 25, seed: 0x7a5c },
    );
    expect(checkedTasks).toBeGreaterThan(0);
    // The generator must produce the case the rule exists for: a member whose keys still open a task the rules no longer let it read.
    expect(hidden).toBeGreaterThan(0);
    // And tasks that carry labels (task.meta), so --label is tested on something.
    expect(labelled).toBeGreaterThan(0);
  }, 240_000);
});
