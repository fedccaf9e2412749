// `pursuance relay`: run an untrusted relay. Flags are validated up front so a
// typo fails fast with exit code 2 and a message naming the flag and value.
import { parseArgs } from "node:util";
import { MemoryRelayStore } from "../cwtch/relay-memory-store.js";
import { checkRelayOptions, RelayOptionError } from "../cwtch/relay-options.js";
import { RELAY_DEFAULTS, startRelay, type RelayLogger } from "../cwtch/relay-server.js";
import type { RelayStore } from "../cwtch/relay-store.js";
import { parseDuration, parseIntFlag, parseSize, UsageError } from "./usage.js";

const DEFAULT_PORT = 7717;

export const RELAY_HELP = `Usage: pursuance relay [options]

Run an untrusted relay: it stores opaque frames in a bounded cache and serves
them over WebSocket, with /healthz and Prometheus /metrics on the same port.

Options:
  --host H            address to listen on (default ${RELAY_DEFAULTS.host})
  --port N            port, 0 = any free port (default ${DEFAULT_PORT})
  --store S           memory, or a postgres://user@host:port/db URL for a
                      durable store (default memory)
  --shared            several relays share this --store database (e.g. behind a
                      load balancer): each serves live what any of them stored,
                      fanned out by PostgreSQL LISTEN/NOTIFY
  --max-messages N    frames kept before the oldest are evicted (default ${RELAY_DEFAULTS.maxMessages})
  --max-bytes SIZE    bytes kept, e.g. 500MB, 64KiB, 1GiB (default 256MiB)
  --max-age DUR       age after which frames are evicted, e.g. 30s, 15m, 12h, 7d (default 7d)
  --pow-bits N        proof-of-work bits required per post even when calm, 0-32 (default 0)
  --pow-max-bits N    ceiling the difficulty rises to under flood (it decays when calm);
                      0 = never raise it (default ${RELAY_DEFAULTS.powMaxBits})
  --max-buffered SIZE bytes one client may make the relay hold (unhandled requests +
                      unsent answers) before it is disconnected (default 16MiB)
  --max-buffered-total SIZE  the same over all clients; the largest are disconnected
                      first (default 256MiB)
  -h, --help          show this help

Example:
  pursuance relay --port 7717 --store postgres://relay@127.0.0.1:5432/relay
`;

export interface RelayCommandIo {
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  /** Stops the relay like SIGINT/SIGTERM do (tests, embedding). */
  signal?: AbortSignal;
}

export async function runRelayCommand(argv: string[], io: RelayCommandIo = {}): Promise<number> {
  const out = io.stdout ?? ((l: string) => process.stdout.write(l + "\n"));
  const err = io.stderr ?? ((l: string) => process.stderr.write(l + "\n"));
  let cfg;
  try {
    cfg = parseRelayArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`pursuance relay: ${e.message}\nRun 'pursuance relay --help' for usage.`);
    return 2;
  }
  if (cfg === "help") {
    out(RELAY_HELP);
    return 0;
  }
  const logger: RelayLogger = {
    info: (msg, f) => err(`relay: ${msg}${f ? " " + JSON.stringify(f) : ""}`),
    warn: (msg, f) => err(`relay warning: ${msg}${f ? " " + JSON.stringify(f) : ""}`),
    error: (msg, f) => err(`relay error: ${msg}${f ? " " + JSON.stringify(f) : ""}`),
  };
  let store: RelayStore;
  try {
    // Loaded only when asked for: drizzle and the driver add to every start-up.
    store = cfg.store === "memory" ? new MemoryRelayStore() : await (await import("../store/relay-pg-store.js")).openPgRelayStore(cfg.store, { shared: cfg.shared });
  } catch (e) {
    err(`pursuance relay: cannot open store: ${(e as Error).message}`);
    return 1;
  }
  let relay;
  try {
    const { store: _s, shared: _sh, ...opts } = cfg;
    relay = await startRelay({ ...opts, store, logger: { ...logger, info() {} } });
  } catch (e) {
    await store.close().catch(() => {});
    err(`pursuance relay: cannot listen on ${cfg.host}:${cfg.port}: ${(e as Error).message}`);
    return 1;
  }
  out(`relay listening on ${relay.url} (health ${relay.httpUrl}/healthz, metrics ${relay.httpUrl}/metrics, store ${cfg.store === "memory" ? "memory" : "postgres"})`);
  let stop = () => {};
  await new Promise<void>((resolve) => {
    stop = resolve;
    process.on("SIGINT", stop).on("SIGTERM", stop);
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener("abort", stop, { once: true });
  });
  process.off("SIGINT", stop).off("SIGTERM", stop);
  await relay.close();
  logger.info("closed");
  return 0;
}

export function parseRelayArgs(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        store: { type: "string" },
        shared: { type: "boolean" },
        "max-messages": { type: "string" },
        "max-bytes": { type: "string" },
        "max-age": { type: "string" },
        "pow-bits": { type: "string" },
        "pow-max-bits": { type: "string" },
        "max-buffered": { type: "string" },
        "max-buffered-total": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    // parseArgs already names the option ("Unknown option '--x'", "argument missing").
    throw new UsageError((e as Error).message);
  }
  if (values.help) return "help" as const;
  const store = values.store ?? "memory";
  if (store !== "memory" && !/^postgres(ql)?:\/\/./.test(store)) {
    throw new UsageError(`--store: bad value ${JSON.stringify(store)} (want memory or a postgres:// URL)`);
  }
  if (values.shared && store === "memory") throw new UsageError("--shared needs a --store postgres://… that the relays share");
  const host = values.host ?? RELAY_DEFAULTS.host;
  if (host.trim() === "") throw new UsageError(`--host: bad value ${JSON.stringify(host)}`);
  const cfg = {
    host,
    port: values.port === undefined ? DEFAULT_PORT : parseIntFlag("--port", values.port, 0, 65535),
    store,
    shared: values.shared ?? false,
    maxMessages: values["max-messages"] === undefined ? RELAY_DEFAULTS.maxMessages : parseIntFlag("--max-messages", values["max-messages"], 1, Number.MAX_SAFE_INTEGER),
    maxBytes: values["max-bytes"] === undefined ? RELAY_DEFAULTS.maxBytes : parseSize("--max-bytes", values["max-bytes"]),
    maxAgeMs: values["max-age"] === undefined ? RELAY_DEFAULTS.maxAgeMs : parseDuration("--max-age", values["max-age"]),
    powBits: values["pow-bits"] === undefined ? RELAY_DEFAULTS.powBits : parseIntFlag("--pow-bits", values["pow-bits"], 0, 32),
    ...powCeiling(values["pow-max-bits"]),
    maxBufferedBytes: values["max-buffered"] === undefined ? RELAY_DEFAULTS.maxBufferedBytes : parseSize("--max-buffered", values["max-buffered"]),
    maxTotalBufferedBytes: values["max-buffered-total"] === undefined ? RELAY_DEFAULTS.maxTotalBufferedBytes : parseSize("--max-buffered-total", values["max-buffered-total"]),
  };
  // The relay's own rules too, before a store is opened: a flag parser that
  // let an out-of-range value through still fails here, naming the flag.
  try {
    checkRelayOptions(cfg);
  } catch (e) {
    if (!(e instanceof RelayOptionError)) throw e;
    throw new UsageError(`${FLAG_OF[e.option] ?? e.option}: ${e.message}`);
  }
  return cfg;
}

const FLAG_OF: Record<string, string> = {
  host: "--host",
  port: "--port",
  maxMessages: "--max-messages",
  maxBytes: "--max-bytes",
  maxAgeMs: "--max-age",
  powBits: "--pow-bits",
  powMaxBits: "--pow-max-bits",
  maxBufferedBytes: "--max-buffered",
  maxTotalBufferedBytes: "--max-buffered-total",
};

function powCeiling(v: string | undefined): { powAdaptive: boolean; powMaxBits: number } {
  const n = v === undefined ? RELAY_DEFAULTS.powMaxBits : parseIntFlag("--pow-max-bits", v, 0, 32);
  return { powAdaptive: n > 0, powMaxBits: n };
}
