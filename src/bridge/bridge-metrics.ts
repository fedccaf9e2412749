// What the bridge tells its operator: the Prometheus text of its counters, and
// the start-up ping that makes the homeserver deliver at once what it held back.
import type { BridgeSettings } from "./settings.js";

/** The figures /metrics shows, gathered by the bridge from its parts. */
export interface BridgeFigures {
  rooms: number;
  identities: number;
  mirrored: number;
  mirrorDropped: number;
  http: { eventsHandled: number; eventsFailed: number; transactionsRefused: number; deviceFailures: number };
  commandsDropped: number;
  announce: { posted: number; failures: number };
  stepTimeouts: number;
  roomsStuck: number;
  e2ee: { decrypted: number; encrypted: number; undecryptable: number; replayed: number; foreign: number; plainInEncrypted: number } | null;
}

export function renderMetrics(f: BridgeFigures): string {
  const lines = [
    "# TYPE pursuance_bridge_rooms gauge",
    `pursuance_bridge_rooms ${f.rooms}`,
    "# TYPE pursuance_bridge_identities gauge",
    `pursuance_bridge_identities ${f.identities}`,
    "# TYPE pursuance_bridge_events_mirrored_total counter",
    `pursuance_bridge_events_mirrored_total ${f.mirrored}`,
    "# TYPE pursuance_bridge_matrix_events_total counter",
    `pursuance_bridge_matrix_events_total{result="handled"} ${f.http.eventsHandled}`,
    `pursuance_bridge_matrix_events_total{result="failed"} ${f.http.eventsFailed}`,
    "# TYPE pursuance_bridge_transactions_refused_total counter",
    `pursuance_bridge_transactions_refused_total ${f.http.transactionsRefused}`,
    "# TYPE pursuance_bridge_commands_dropped_total counter",
    `pursuance_bridge_commands_dropped_total ${f.commandsDropped}`,
    "# TYPE pursuance_bridge_mirror_dropped_total counter",
    `pursuance_bridge_mirror_dropped_total ${f.mirrorDropped}`,
    "# TYPE pursuance_bridge_announcements_mirrored_total counter",
    `pursuance_bridge_announcements_mirrored_total ${f.announce.posted}`,
    "# TYPE pursuance_bridge_announce_failures_total counter",
    `pursuance_bridge_announce_failures_total ${f.announce.failures}`,
    "# TYPE pursuance_bridge_step_timeouts_total counter",
    `pursuance_bridge_step_timeouts_total ${f.stepTimeouts}`,
    "# TYPE pursuance_bridge_e2ee_events_total counter",
    `pursuance_bridge_e2ee_events_total{result="decrypted"} ${f.e2ee?.decrypted ?? 0}`,
    `pursuance_bridge_e2ee_events_total{result="encrypted"} ${f.e2ee?.encrypted ?? 0}`,
    `pursuance_bridge_e2ee_events_total{result="undecryptable"} ${f.e2ee?.undecryptable ?? 0}`,
    `pursuance_bridge_e2ee_events_total{result="replayed"} ${f.e2ee?.replayed ?? 0}`,
    `pursuance_bridge_e2ee_events_total{result="foreign-session"} ${f.e2ee?.foreign ?? 0}`,
    `pursuance_bridge_e2ee_events_total{result="plain-in-encrypted"} ${f.e2ee?.plainInEncrypted ?? 0}`,
    "# TYPE pursuance_bridge_e2ee_device_failures_total counter",
    `pursuance_bridge_e2ee_device_failures_total ${f.http.deviceFailures}`,
    "# TYPE pursuance_bridge_rooms_stuck gauge",
    `pursuance_bridge_rooms_stuck ${f.roomsStuck}`,
  ];
  return lines.join("\n") + "\n";
}

/**
 * Tell the homeserver we are back (MSC2659 ping): transactions it failed to
 * deliver while we were down are otherwise retried only after its backoff,
 * and a room key held up there makes the message it opens unreadable.
 */
export async function pingHomeserver(s: Pick<BridgeSettings, "appserviceId" | "homeserverUrl" | "asToken" | "log">, ioTimeoutMs: number): Promise<void> {
  if (!s.appserviceId) return;
  const path = `/_matrix/client/v1/appservice/${encodeURIComponent(s.appserviceId)}/ping`;
  try {
    const r = await fetch(s.homeserverUrl + path, {
      method: "POST",
      headers: { authorization: `Bearer ${s.asToken}`, "content-type": "application/json" },
      body: JSON.stringify({ transaction_id: `pursuance.start.${Date.now()}` }),
      signal: AbortSignal.timeout(ioTimeoutMs),
    });
    if (!r.ok) s.log("warn", "the homeserver did not take the appservice ping", { status: r.status, body: (await r.text()).slice(0, 200) });
  } catch (e) {
    s.log("warn", "could not ping the homeserver", { error: (e as Error).message });
  }
}

