// A tiny Matrix client for tests: the client-server API over fetch, as a
// real user's client would use it against the real Synapse.
export interface RoomEvent {
  event_id: string;
  type: string;
  sender: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
}

export class TestUser {
  private txn = 0;
  constructor(
    readonly baseUrl: string,
    readonly userId: string,
    readonly token: string,
  ) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async createRoom(invite: string[] = [], opts: Record<string, unknown> = {}): Promise<string> {
    const r = await this.call<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", invite, ...opts });
    return r.room_id;
  }

  async join(roomId: string): Promise<void> {
    await this.call("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
  }

  async send(roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await this.call<{ event_id: string }>("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${Date.now()}.${this.txn++}`, {
      msgtype: "m.text",
      body,
      ...extra,
    });
    return r.event_id;
  }

  /** Reply in a thread rooted at `root`. */
  async sendInThread(roomId: string, root: string, body: string): Promise<string> {
    return this.send(roomId, body, { "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } } });
  }

  /** Upload bytes to the media repository; returns the mxc:// url. */
  async upload(bytes: Uint8Array, name: string): Promise<string> {
    const r = await fetch(`${this.baseUrl}/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/octet-stream" },
      body: Buffer.from(bytes),
    });
    if (!r.ok) throw new Error(`upload → ${r.status}: ${await r.text()}`);
    return ((await r.json()) as { content_uri: string }).content_uri;
  }

  /** An mxc:// url's bytes (authenticated media). */
  async download(mxc: string): Promise<Uint8Array> {
    const [server, id] = mxc.slice("mxc://".length).split("/");
    const r = await fetch(`${this.baseUrl}/_matrix/client/v1/media/download/${server}/${id}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (!r.ok) throw new Error(`download ${mxc} → ${r.status}: ${await r.text()}`);
    return new Uint8Array(await r.arrayBuffer());
  }

  /** A file (m.file) in a thread rooted at `root`. */
  async sendFileInThread(roomId: string, root: string, name: string, bytes: Uint8Array): Promise<string> {
    const url = await this.upload(bytes, name);
    return this.send(roomId, name, { msgtype: "m.file", filename: name, url, info: { size: bytes.length, mimetype: "application/octet-stream" }, "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } } });
  }

  async messages(roomId: string, limit = 500): Promise<RoomEvent[]> {
    const r = await this.call<{ chunk: RoomEvent[] }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=${limit}`);
    return r.chunk.reverse();
  }

  async members(roomId: string): Promise<string[]> {
    const r = await this.call<{ joined: Record<string, unknown> }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`);
    return Object.keys(r.joined);
  }

  /** Join the direct chat `sender` invited us to (polling /sync for the invite), or the one already joined; returns its id. */
  async directChatWith(sender: string, timeoutMs = 30_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    // Incremental syncs: Synapse caches an identical initial /sync for minutes, so
    // repeating one would never show an invite made after the first call.
    let since: string | null = null;
    for (;;) {
      const r: { next_batch: string; rooms?: { invite?: Record<string, { invite_state?: { events?: Array<{ type: string; sender: string; state_key?: string; content: Record<string, unknown> }> } }> } } = await this.call(
        "GET",
        `/_matrix/client/v3/sync?timeout=${since ? 1000 : 0}${since ? `&since=${encodeURIComponent(since)}` : ""}`,
      );
      since = r.next_batch;
      for (const [roomId, inv] of Object.entries(r.rooms?.invite ?? {})) {
        const me = inv.invite_state?.events?.find((e) => e.type === "m.room.member" && e.state_key === this.userId);
        if (me?.sender === sender && me.content.is_direct === true) {
          await this.join(roomId);
          return roomId;
        }
      }
      if (Date.now() > end) throw new Error(`no direct chat from ${sender}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  /** Poll the room until an event matches (generous default: the bridge syncs with relays first). */
  async waitFor(roomId: string, what: string, pred: (e: RoomEvent) => boolean, timeoutMs = 30_000): Promise<RoomEvent> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = (await this.messages(roomId)).find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} in ${roomId}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export const bodyOf = (e: RoomEvent): string => (typeof e.content.body === "string" ? e.content.body : "");
