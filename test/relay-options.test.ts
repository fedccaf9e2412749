// The relay's option values, through the API (startRelay) and the CLI
// (`pursuance relay`): a value that overflowed or makes no sense is refused
// with the option's name and value before anything listens. The bench once
// passed `8 << 30` (0 in JavaScript) as a byte bound and the relay then shed
// every client: that must fail loudly at start-up instead.
import { describe, expect, it } from "vitest";
import { runRelayCommand } from "../src/cli/relay-command.js";
import { RelayOptionError, startRelay, type RelayOptions } from "../src/cwtch/relay-server.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { loadCrypto } from "../src/cwtch/crypto.js";

describe("relay options (API)", () => {
  const bad: Array<[keyof RelayOptions, unknown]> = [
    ["maxBytes", 8 << 30], // 0: the shift is 32-bit
    ["maxTotalBufferedBytes", 8 << 30],
    ["maxBufferedBytes", -1],
    ["maxMessages", 1.5],
    ["maxMessages", 2 ** 53],
    ["maxBytes", Number.MAX_SAFE_INTEGER + 2],
    ["maxBytes", Number.NaN],
    ["maxAgeMs", 0],
    ["maxBlobBytes", Number.POSITIVE_INFINITY],
    ["postsPerSecond", 0],
    ["requestBurst", -5],
    ["maxConnections", 0],
    ["fetchPageSize", 0.25],
    ["maxPendingPerConnection", 0],
    ["maxSubscriptionsPerConnection", 0],
    ["heartbeatMs", -1],
    ["port", 70_000],
    ["powBits", 33],
    ["powMaxBits", -1],
    ["powDecayMs", 0],
    ["powAdaptive", "yes"],
    ["host", ""],
    ["maxBytes", "256MiB"],
  ];
  it.each(bad)("refuses %s = %s, naming the option and the value", async (name, value) => {
    const err = await startRelay({ [name]: value } as RelayOptions).then(
      async (r) => (await r.close(), null),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RelayOptionError);
    expect((err as RelayOptionError).option).toBe(name);
    expect(Object.is((err as RelayOptionError).value, value)).toBe(true);
    expect((err as Error).message).toContain(name);
  });

  it("accepts large sane bounds, zero where zero means off, and fractional rates", async () => {
    const r = await startRelay({ maxBytes: 8 * 2 ** 30, maxTotalBufferedBytes: 8 * 2 ** 30, maxMessages: 10_000_000, heartbeatMs: 0, powBits: 0, powMaxBits: 0, postsPerSecond: 0.5, port: 0 });
    await r.close();
  });
});

describe("relay options that are each fine but break a promise together", () => {
  const refused = async (o: RelayOptions) =>
    startRelay(o).then(
      async (r) => (await r.close(), null),
      (e: unknown) => e,
    );

  it("a per-connection buffer smaller than one largest post frame is refused (it would shed every client that posts)", async () => {
    const err = await refused({ maxBufferedBytes: 1 });
    expect(err).toBeInstanceOf(RelayOptionError);
    expect((err as RelayOptionError).option).toBe("maxBufferedBytes");
    expect((err as Error).message).toMatch(/one largest post frame/);
  });

  it("a total buffer smaller than one connection's is refused", async () => {
    const err = await refused({ maxTotalBufferedBytes: 1 << 20, maxBufferedBytes: 2 << 20 });
    expect((err as RelayOptionError).option).toBe("maxTotalBufferedBytes");
  });

  it("a blob limit above half the store is refused when given, and a default one shrinks to half the store: no post is acked and then evicted early", async () => {
    const err = await refused({ maxBytes: 4096, maxBlobBytes: 3000 });
    expect((err as RelayOptionError).option).toBe("maxBlobBytes");
    expect((err as Error).message).toMatch(/at most half of maxBytes \(2048\).*acknowledged and then evicted early/);
    const r = await startRelay({ maxBytes: 4096, powAdaptive: false });
    try {
      const c = new RelayClient({ url: r.url, crypto: await loadCrypto(), requestTimeoutMs: 2_000 }).start();
      try {
        await c.ready();
        const small = await c.post("dGFn", new Uint8Array(1000));
        expect(small.seq).toBeGreaterThan(0);
        // 2,045 bytes of blob plus the 4-character tag is more than half the store: refused, not acked.
        const big: unknown = await c.post("dGFn", new Uint8Array(2045)).then(
          () => new Error("acknowledged"),
          (e: unknown) => e,
        );
        expect(big).toMatchObject({ code: "too-large" });
        expect(await r.sweep()).toBe(0);
        expect((await r.store.stats()).latest).toBe(small.seq);
      } finally {
        c.close();
      }
    } finally {
      await r.close();
    }
  });
});

describe("relay options (CLI)", () => {
  const cases: Array<[string[], RegExp]> = [
    [["--max-bytes", "9007199254740993"], /--max-bytes/],
    [["--max-bytes", "0"], /--max-bytes/],
    [["--max-bytes", "0.1"], /--max-bytes/],
    [["--max-bytes", "-8GiB"], /--max-bytes/],
    [["--max-bytes", "99999999999GiB"], /--max-bytes/],
    [["--max-buffered-total", "0"], /--max-buffered-total/],
    [["--max-buffered", "1e3"], /--max-buffered/],
    [["--max-messages", "1.5"], /--max-messages/],
    [["--max-messages", "0"], /--max-messages/],
    [["--max-messages", "99999999999999999999"], /--max-messages/],
    [["--max-age", "0s"], /--max-age/],
    [["--pow-max-bits", "40"], /--pow-max-bits/],
  ];
  it.each(cases)("pursuance relay %j exits 2 naming the flag", async (args, re) => {
    const errs: string[] = [];
    const code = await runRelayCommand(["--port", "0", ...args], { stdout: () => {}, stderr: (l) => void errs.push(l), signal: AbortSignal.abort() });
    expect(code).toBe(2);
    expect(errs.join("\n")).toMatch(re);
  });
});
