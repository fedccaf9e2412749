// The HTTP side of the bridge's end-to-bridge encryption: an OlmMachine's
// outgoing requests (key upload, key query, key claim, to-device) sent to the
// homeserver as one of the bridge's users *and one of its devices*. The
// appservice token speaks for any user in its namespace (`user_id`); Synapse
// lets it also name the device (`device_id`, MSC3202 device masquerading), and
// an appservice with `io.element.msc4190: true` in its registration creates
// that device with a plain PUT /devices/{id} (MSC4190): no /login, no access
// token per device, no /sync loop per user.
import { RequestType } from "@matrix-org/matrix-sdk-crypto-wasm";

export interface E2eeTransportOptions {
  homeserverUrl: string;
  asToken: string;
  /** Per call; the whole exchange of a request is bounded by it. */
  timeoutMs: number;
}

/** The homeserver refused or failed a crypto request; carries the status and Matrix error code. */
export class E2eeHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errcode: string | undefined,
    readonly path: string,
  ) {
    super(message);
    this.name = "E2eeHttpError";
  }
}

/** The homeserver lacks what end-to-bridge encryption needs; carries the status it answered. */
export class E2eeUnsupportedError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "E2eeUnsupportedError";
  }
}

/** What an OlmMachine hands out to send (the wasm request classes, as far as we read them). */
export interface OutgoingRequest {
  readonly id?: string;
  readonly type: RequestType;
  readonly body: string;
  readonly event_type?: string;
  readonly txn_id?: string;
  readonly room_id?: string;
}

export class E2eeTransport {
  constructor(private readonly o: E2eeTransportOptions) {}

  /** One client-server call as `userId` on `deviceId` (none: as the user, without a device). */
  async call(method: string, path: string, userId: string, deviceId: string | null, body?: unknown): Promise<unknown> {
    const url = new URL(this.o.homeserverUrl + path);
    url.searchParams.set("user_id", userId);
    if (deviceId) {
      url.searchParams.set("device_id", deviceId);
      // The unstable name, for homeservers that know only that one.
      url.searchParams.set("org.matrix.msc3202.device_id", deviceId);
    }
    const r = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${this.o.asToken}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(this.o.timeoutMs),
    });
    const text = await r.text();
    if (!r.ok) {
      let errcode: string | undefined;
      try {
        errcode = (JSON.parse(text) as { errcode?: string }).errcode;
      } catch {
        errcode = undefined;
      }
      throw new E2eeHttpError(`${method} ${path} as ${userId} → ${r.status}: ${text.slice(0, 300)}`, r.status, errcode, path);
    }
    return text ? JSON.parse(text) : {};
  }

  /** MSC4190: make the device if it does not exist yet (200 or 201 either way). */
  async ensureDevice(userId: string, deviceId: string, displayName: string): Promise<void> {
    try {
      await this.call("PUT", `/_matrix/client/v3/devices/${encodeURIComponent(deviceId)}`, userId, null, { display_name: displayName });
    } catch (e) {
      // A homeserver without MSC4190 answers "no such device": say what is missing, not just the status.
      if (e instanceof E2eeHttpError && (e.status === 404 || e.errcode === "M_UNRECOGNIZED")) {
        throw new E2eeUnsupportedError(
          `the homeserver would not make device ${deviceId} for ${userId} (${e.status} ${e.errcode ?? ""}): end-to-bridge encryption needs an appservice registration ` +
            `with io.element.msc4190, org.matrix.msc3202 and receive_ephemeral (re-run pursuance register and reload it) and, on Synapse, experimental_features ` +
            `msc2409_to_device_messages_enabled and msc3202_transaction_extensions. Or set encryption.allow: false.`,
          e.status,
        );
      }
      throw e;
    }
  }

  /** Send one of a machine's outgoing requests; returns the response body as JSON text for markRequestAsSent. */
  async send(userId: string, deviceId: string, req: OutgoingRequest): Promise<string> {
    const path = pathOf(req);
    if (path === null) return "{}";
    const [method, p] = path;
    return JSON.stringify(await this.call(method, p, userId, deviceId, req.body));
  }
}

function pathOf(req: OutgoingRequest): [string, string] | null {
  const e = encodeURIComponent;
  switch (req.type) {
    case RequestType.KeysUpload:
      return ["POST", "/_matrix/client/v3/keys/upload"];
    case RequestType.KeysQuery:
      return ["POST", "/_matrix/client/v3/keys/query"];
    case RequestType.KeysClaim:
      return ["POST", "/_matrix/client/v3/keys/claim"];
    case RequestType.ToDevice:
      return ["PUT", `/_matrix/client/v3/sendToDevice/${e(req.event_type!)}/${e(req.txn_id!)}`];
    case RequestType.SignatureUpload:
      return ["POST", "/_matrix/client/v3/keys/signatures/upload"];
    case RequestType.RoomMessage:
      return ["PUT", `/_matrix/client/v3/rooms/${e(req.room_id!)}/send/${e(req.event_type!)}/${e(req.txn_id!)}`];
    default:
      // Key backup: the bridge keeps no server-side backup (its store is in its own database).
      return null;
  }
}
