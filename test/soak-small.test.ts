// The bench's soak (bench/soak.ts) at its small size, so the soak's own code
// can fail in CI: clients in several pursuances post through one relay on
// PostgreSQL, the relay restarts halfway, and every acknowledged frame must
// reach every client of its pursuance. The full size runs in `npm run bench`.
import { describe, expect, it } from "vitest";
import { runSoak, SOAK_SMALL } from "../bench/soak.js";

describe("soak, small size", () => {
  it("loses no frame across a relay restart and gives its memory back", async () => {
    const lines: string[] = [];
    const r = await runSoak(SOAK_SMALL, (m) => void process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${m}\n`)).catch((e: Error) => {
      throw new Error(`${e.message}\n${lines.join("\n")}`);
    });
    process.stderr.write(lines.join("\n") + "\n");
    expect(r.restarts).toBe(1);
    expect(r.acked).toBe(SOAK_SMALL.frames);
    expect(r.owed).toBe(SOAK_SMALL.frames * (SOAK_SMALL.clients / SOAK_SMALL.pursuances));
    expect(r.lost).toBe(0);
    // Every client dropped its connection and came back at the restart.
    expect(r.reconnects).toBeGreaterThanOrEqual(SOAK_SMALL.clients);
    expect(r.relayHeldBytesAtEnd).toBe(0);
    // Loose on purpose (GC and allocator noise on a busy machine): a leak of the run's frames would be far over it.
    expect(r.heapAfterMiB - r.heapBeforeMiB).toBeLessThan(32);
  }, 60_000);
});
