import { it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { randomHistory } from "./helpers/history.js";
it("dbg", async () => {
  const base = await loadCrypto();
  for (let i = 0; i < 20; i++) {
    const r = randomHistory(base, i, 30 + (i * 7) % 50);
    const f = r.h.fold();
    const ng = f.state.rejected.filter((x) => x.reason.includes("no genesis"));
    if (ng.length) {
      const g = r.h.events[0]!;
      console.log(i, "genesis verdict", f.applied.find((a) => a.event.id === g.id)?.rejected, "first applied", f.applied[0]!.event.id === g.id, f.applied[0]!.event.body?.t, f.applied[0]!.rejected);
      break;
    }
  }
});
