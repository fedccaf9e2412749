import { it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { randomHistory, randomCausalOrder, randomChunks, deliver, memoVerifyCrypto } from "./helpers/history.js";
it("smoke", async () => {
  const base = await loadCrypto();
  const crypto = memoVerifyCrypto(base);
  let t0 = performance.now();
  const hs = [];
  for (let i = 0; i < 20; i++) hs.push(randomHistory(base, i, 30 + (i * 7) % 50));
  console.log("gen", performance.now() - t0);
  const kinds: Record<string, number> = {};
  let rej = 0, tot = 0;
  for (const r of hs) { for (const [k, v] of Object.entries(r.kinds)) kinds[k] = (kinds[k] ?? 0) + v; const f = r.h.fold(); rej += f.state.rejected.length; tot += f.size; }
  console.log(kinds, rej, tot);
  const reasons: Record<string, number> = {};
  for (const r of hs) for (const x of r.h.fold().state.rejected) { const k = x.type + ": " + x.reason.replace(/[0-9a-f]{12}/g, "X").replace(/#\d+/g,"#N").slice(0, 60); reasons[k] = (reasons[k] ?? 0) + 1; }
  console.log(Object.entries(reasons).sort((a,b)=>b[1]-a[1]).slice(0,60));
  t0 = performance.now();
  let inc = 0, ref = 0;
  for (const r of hs) {
    for (let k = 0; k < 10; k++) {
      const o = randomCausalOrder(r.h.events, r.h.rng);
      const d1 = deliver(crypto, o.map((e) => [e]));
      inc += d1.incremental; ref += d1.refolds;
      d1.fold.hash();
    }
  }
  console.log("one-by-one 10 orders x 20", performance.now() - t0, inc, ref);
  t0 = performance.now();
  for (const r of hs) {
    for (let k = 0; k < 10; k++) {
      const o = randomCausalOrder(r.h.events, r.h.rng);
      const d1 = deliver(crypto, randomChunks(o, r.h.rng, 12));
      d1.fold.hash();
    }
  }
  console.log("chunks 10 orders x 20", performance.now() - t0);
});
