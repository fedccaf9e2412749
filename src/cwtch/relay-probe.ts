// Asking one relay "are you there?" once, without the reconnecting client:
// a refused connection, an unknown host, a server that is no relay and a
// relay that never greets each come back at once as what they are, so a
// member is told before a pursuance is pointed at an address that is down.
import { SocksProxyAgent } from "socks-proxy-agent";
import WebSocket from "ws";
import { FrameError, parseServerFrame } from "./relay-protocol.js";
import type { Hello } from "./relay-client-types.js";

export type ProbeFailure = "refused" | "no-host" | "not-a-relay" | "no-hello" | "unreachable";

/** A relay that did not greet us, with the URL and what happened, in words. */
export class RelayProbeError extends Error {
  constructor(
    readonly url: string,
    readonly failure: ProbeFailure,
    readonly detail: string,
  ) {
    super(`${url} does not answer as a relay: ${detail}`);
    this.name = "RelayProbeError";
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** What a socket error means to a member: the errno names are the system's, not theirs. */
function describe(e: NodeJS.ErrnoException): { failure: ProbeFailure; detail: string } {
  switch (e.code) {
    case "ECONNREFUSED":
      return { failure: "refused", detail: "connection refused (nothing listens at that address and port)" };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { failure: "no-host", detail: `no such host (${e.code === "EAI_AGAIN" ? "the name did not resolve now" : "the name does not resolve"})` };
    case "ECONNRESET":
      return { failure: "unreachable", detail: "the connection was reset" };
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return { failure: "unreachable", detail: "no route to that host" };
    default:
      return { failure: "unreachable", detail: e.message };
  }
}

/** Failures that another try cannot change: said at once, whatever time is left. */
const FINAL = new Set<ProbeFailure>(["refused", "no-host", "not-a-relay"]);

/** A greeting may be lost on a lossy path, as the relay client knows (helloTimeoutMs): try again within the time. */
const ATTEMPT_MS = 4_000;

/**
 * Wait for `url`'s hello within `timeoutMs`, reconnecting after a lost or garbled greeting (as the
 * relay client does); a refused connection, an unknown host or a server that answers as no relay
 * is final at once. Rejects with a RelayProbeError.
 */
export async function probeRelay(url: string, o: { timeoutMs: number; socksProxy?: string }): Promise<Hello> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    try {
      return await attempt(url, Math.min(left, o.socksProxy ? 15_000 : ATTEMPT_MS), o.socksProxy);
    } catch (e) {
      const err = e as RelayProbeError;
      if (FINAL.has(err.failure)) throw err;
      if (Date.now() + 100 >= deadline) throw err.failure === "no-hello" ? new RelayProbeError(url, "no-hello", `no greeting within ${seconds(o.timeoutMs)}`) : err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function attempt(url: string, timeoutMs: number, socksProxy: string | undefined): Promise<Hello> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, { ...(socksProxy ? { agent: new SocksProxyAgent(socksProxy) } : {}), handshakeTimeout: timeoutMs });
    } catch (e) {
      return reject(new RelayProbeError(url, "not-a-relay", (e as Error).message));
    }
    let done = false;
    const finish = (r: Hello | RelayProbeError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.terminate();
      if (r instanceof RelayProbeError) reject(r);
      else resolve(r);
    };
    const timer = setTimeout(() => finish(new RelayProbeError(url, "no-hello", `no greeting within ${seconds(timeoutMs)}`)), timeoutMs);
    ws.on("unexpected-response", (_req, res) => finish(new RelayProbeError(url, "not-a-relay", `it answered HTTP ${res.statusCode} instead of a WebSocket`)));
    ws.on("error", (e: NodeJS.ErrnoException) => {
      const d = describe(e);
      finish(new RelayProbeError(url, d.failure, d.detail));
    });
    ws.on("close", () => finish(new RelayProbeError(url, "unreachable", "it closed the connection without a greeting")));
    // Anything but a greeting (a garbled one on a lossy path) is passed over: the greeting may follow, or the next try.
    ws.on("message", (data) => {
      try {
        const f = parseServerFrame(data.toString());
        if (f.op === "hello") finish(f);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
      }
    });
  });
}
