// The relay's counters and their Prometheus text exposition (/metrics).
import type { ErrorCode } from "./relay-protocol.js";
import type { RelayStats } from "./relay-store.js";

export interface RelayCounters {
  /** Posts answered with `posted` (duplicates included). */
  accepted: number;
  /** Frames evicted by the cache bounds. */
  evicted: number;
  /** Client frames answered with an error (or a close), by reason. */
  rejected: Record<ErrorCode, number>;
  /** Connections closed for holding more unsent/unprocessed bytes than allowed. */
  shed: number;
}

export function newCounters(): RelayCounters {
  return {
    accepted: 0,
    evicted: 0,
    rejected: { "bad-frame": 0, "unknown-op": 0, "too-large": 0, "rate-limited": 0, "pow-required": 0, "pow-invalid": 0, "too-many-subscriptions": 0, overloaded: 0, internal: 0 },
    shed: 0,
  };
}

export interface RelayGauges {
  connections: number;
  /** Subscribed tags plus subscribe-all, over all connections. */
  subscriptions: number;
  /** Bytes held for clients: requests received but not handled plus answers not yet sent. */
  heldBytes: number;
  /** Proof-of-work bits a post must carry now. */
  powBits: number;
}

export function renderMetrics(st: RelayStats, m: RelayCounters, g: RelayGauges): string {
  const rows: [string, string, string, number | Record<string, number>][] = [
    ["frames_stored", "gauge", "Frames held now.", st.count],
    ["bytes_stored", "gauge", "Bytes held now (tag + blob).", st.bytes],
    ["frames_evicted_total", "counter", "Frames evicted by the cache bounds.", m.evicted],
    ["frames_accepted_total", "counter", "Posts answered with posted (duplicates included).", m.accepted],
    ["frames_rejected_total", "counter", "Client frames answered with an error (or a close), by reason.", m.rejected],
    ["connections", "gauge", "Open WebSocket connections.", g.connections],
    ["subscriptions", "gauge", "Subscribed tags plus subscribe-all, over all connections.", g.subscriptions],
    ["connections_shed_total", "counter", "Connections closed for holding too many unsent or unhandled bytes.", m.shed],
    ["held_bytes", "gauge", "Bytes held for clients: unhandled requests plus unsent answers.", g.heldBytes],
    ["pow_bits", "gauge", "Proof-of-work bits a post must carry now (rises under load).", g.powBits],
  ];
  return rows
    .map(([n, type, help, v]) => {
      const name = `pursuance_relay_${n}`;
      const values = typeof v === "number" ? `${name} ${v}` : Object.entries(v).map(([k, x]) => `${name}{reason="${k}"} ${x}`).join("\n");
      return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${values}\n`;
    })
    .join("");
}
