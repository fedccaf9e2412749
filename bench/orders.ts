// The exhaustive order checker at full size (harness/order-histories.ts; the
// slice in test/fold-orders.test.ts runs in `npm test`): every history in each
// plan, every arrival order and batching into a long-lived fold, against a
// fresh fold. Counts and every divergence go to bench/results/orders.json; any
// divergence fails the bench.
import { writeFileSync } from "node:fs";
import type { Crypto } from "../src/cwtch/crypto.js";
import { memoVerifyCrypto } from "../harness/history.js";
import { ACTION_NAMES, runOrderCheck, type EnumerateOptions } from "../harness/order-histories.js";
import { metric, type Metric } from "./report.js";
import { progress, sized } from "./util.js";

const AMEND = "F amends recruiter (no member.invite)";

/** What each run enumerates. The longer the histories, the fewer the actions, so that each plan ends within minutes. */
function plans(): Array<{ name: string; o: EnumerateOptions }> {
  const tiny = [{ name: "up to 2 events, every action, shape tips", o: { maxEvents: 2, shapes: ["tips"] } satisfies EnumerateOptions }];
  const quick = [{ name: "up to 3 events, every action, shapes tips/base", o: { maxEvents: 3, shapes: ["tips", "base"] } satisfies EnumerateOptions }];
  return sized(full(), quick, tiny);
}

function full(): Array<{ name: string; o: EnumerateOptions }> {
  return [
    { name: "up to 3 events, every action, every shape", o: { maxEvents: 3, actions: ACTION_NAMES } },
    {
      name: "4 events: amend, grant, invite, join, removal; shapes tips/base",
      o: { minEvents: 4, maxEvents: 4, shapes: ["tips", "base"], actions: [AMEND, "A grants S recruiter", "R invites", "N joins", "F removes A"] },
    },
    {
      // 4683 arrivals (orders with batchings) per 6-event history: one sequence of actions, every choice of shapes.
      name: "5 and 6 events in sequence (grant, amend, invite, join, removal, delete); shapes tips/base",
      o: { minEvents: 5, maxEvents: 6, inOrder: true, shapes: ["tips", "base"], actions: ["A grants S recruiter", AMEND, "R invites", "N joins", "F removes A", "F deletes recruiter"] },
    },
  ];
}

/** `dir`: where orders.json goes (the run's results directory). */
export function benchOrders(base: Crypto, dir: URL): Metric[] {
  const crypto = memoVerifyCrypto(base);
  const runs = [];
  for (const p of plans()) {
    progress(`orders: ${p.name}`);
    const r = runOrderCheck(crypto, {
      ...p.o,
      keep: 50,
      onProgress: (x) => progress(`orders: ${x.histories} histories, ${x.orders} arrival orders, ${x.divergent} divergent histories so far (${x.seconds.toFixed(0)} s)`),
    });
    progress(`orders: ${r.histories} histories, ${r.orders} arrival orders, ${r.divergent} divergent histories in ${r.seconds.toFixed(0)} s`);
    runs.push({ plan: p.name, options: p.o, ...r });
  }
  const histories = runs.reduce((n, r) => n + r.histories, 0);
  const orders = runs.reduce((n, r) => n + r.orders, 0);
  const divergent = runs.reduce((n, r) => n + r.divergent, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const out = new URL("orders.json", dir);
  writeFileSync(out, JSON.stringify({ histories, orders, divergent, seconds: Math.round(seconds), runs }, null, 2) + "\n");
  if (divergent > 0) {
    const first = runs.flatMap((r) => r.divergences)[0]!;
    throw new Error(`orders: ${divergent} of ${histories} histories reach different states in different arrival orders (first: ${first.history}, arrival ${first.arrival}); see bench/results/orders.json`);
  }
  const note = `every arrival order and batching of every enumerated history into a long-lived fold equals a fresh fold (${runs.map((r) => `${r.plan}: ${r.histories} histories`).join("; ")})`;
  return [
    metric("orders.histories", histories, "histories", null, { note }),
    metric("orders.arrivals", orders, "orders", null, { note: "arrival orders (with batchings) checked, summed over histories" }),
    metric("orders.divergent", divergent, "histories", null, { note: "histories whose arrival orders disagree: must be 0 (the bench fails otherwise)" }),
    metric("orders.rate", orders / seconds, "orders/s", null, { note: "arrival orders checked per second, including building the histories" }),
  ];
}
