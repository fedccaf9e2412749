// Fakes of the bridge's ports that record what would reach Matrix, a real relay and a
// real founder client: for unit tests of the bridge's notice and file paths (atk13's plumbing).
import { identity, ports } from "./pursuance-node.js";
import { startRelay, type RelayServer } from "../../src/cwtch/relay-server.js";
import { PursuanceClient } from "../../src/pursuance/client/client.js";
import { contextFor } from "../../src/bridge/bot-context.js";
import type { BotContext } from "../../src/bot/context.js";
import type { MatrixEvent } from "../../src/bridge/appservice-http.js";
import type { DigestSchedule } from "../../src/usecases/digest-schedule.js";

export async function world(): Promise<{ relay: RelayServer; founder: PursuanceClient; close(): Promise<void> }> {
  const relay = await startRelay({ port: 0 });
  const founder = await PursuanceClient.create(await ports(), await identity(), { name: "Secret Org", founderName: "alice", relays: [relay.url] });
  return {
    relay,
    founder,
    close: async () => {
      await founder.close?.();
      await relay.close();
    },
  };
}

export interface Recorder {
  sent: Array<{ room: string; msg: any }>;
  files: Array<{ room: string; f: any }>;
  uploads: Array<{ bytes: Uint8Array; name: string }>;
  redactions: Array<{ room: string; event: string; reason: string }>;
  reactions: Array<{ room: string; event: string; key: string }>;
  media: Map<string, Uint8Array>;
  digests: Map<string, DigestSchedule>;
  msgTask: Map<string, string>;
}

export function recorder(): Recorder {
  return { sent: [], files: [], uploads: [], redactions: [], reactions: [], media: new Map(), digests: new Map(), msgTask: new Map() };
}

export function fakeMatrix(r: Recorder): any {
  return {
    displayName: async (_room: string, user: string) => user.slice(1, user.indexOf(":")),
    upload: async (bytes: Uint8Array, name: string) => {
      r.uploads.push({ bytes, name });
      const url = `mxc://hs/u${r.uploads.length}`;
      r.media.set(url, bytes);
      return url;
    },
    download: async (mxc: string, max: number) => {
      const b = r.media.get(mxc);
      if (!b) throw new Error(`no media ${mxc}`);
      if (b.length > max) throw new Error("too large");
      return b;
    },
    sendFile: async (room: string, f: any) => {
      r.files.push({ room, f });
      return `$file${r.files.length}`;
    },
    send: async (room: string, msg: any) => {
      r.sent.push({ room, msg });
      return `$sent${r.sent.length}`;
    },
    react: async (room: string, event: string, key: string) => {
      r.reactions.push({ room, event, key });
    },
    redact: async (room: string, event: string, reason: string) => {
      r.redactions.push({ room, event, reason });
    },
    botPower: async () => ({ mine: 100, redact: 50, stateDefault: 50 }),
    invite: async () => {},
  };
}

export function fakeStore(r: Recorder): any {
  const said = new Set<string>();
  const last = new Map<string, number>();
  return {
    digest: async (u: string) => r.digests.get(u) ?? null,
    setDigest: async (u: string, s: DigestSchedule) => void r.digests.set(u, s),
    taskMessage: async () => null,
    taskForMessage: async (room: string, ev: string) => r.msgTask.get(`${room} ${ev}`) ?? null,
    said: async (room: string, u: string, w: string) => said.has(`${room}\n${u}\n${w}`),
    sayOnce: async (room: string, u: string, w: string) => {
      const k = `${room}\n${u}\n${w}`;
      const fresh = !said.has(k);
      said.add(k);
      return fresh;
    },
    lastDigest: async (u: string, g: string) => last.get(`${u}\n${g}`) ?? null,
    digestSent: async (u: string, g: string, at: number) => void last.set(`${u}\n${g}`, at),
    markedFromMatrix: [] as any[],
  };
}

/** A HostedPursuance-shaped fake: Matrix users → clients, and whether a room may show a task. */
export function fakeHosted(clients: Map<string, PursuanceClient>, mayShow: (room: string, task: string) => boolean, marks: any[] = []): any {
  const primary = [...clients.values()][0] ?? null;
  return {
    binding: { name: "Secret Org", groupId: primary?.config.groupId ?? "g" },
    clientFor: (u: string) => clients.get(u) ?? null,
    roomMayShowTask: async (room: string, task: string) => mayShow(room, task),
    run: async <T>(fn: () => Promise<T>) => fn(),
    markFromMatrix: async (...a: any[]) => void marks.push(a),
    primary,
    delegate: null,
    hostedMembers: new Map(),
    readable: () => true,
    confirmations: { confirmed: () => false, confirm: async () => {} },
  };
}

export function fakeHost(r: Recorder): any {
  return {
    s: { log: () => {}, relays: [], inviteRelays: undefined, permissionFor: () => "admin" },
    matrix: fakeMatrix(r),
    store: fakeStore(r),
    e2ee: null,
    limits: {},
    inbound: { handled() {}, failed: () => 1, gaveUp() {} },
    stopping: false,
    announce: { add: async () => true, remove: async () => "removed", status: async () => [] },
    enqueue: (_room: string, fn: () => Promise<void>) => void fn(),
    refusesRoom: async () => false,
    pursuanceOfRoom: () => undefined,
    directRoom: async (u: string) => `!dm-${u}`,
  };
}

export function event(room: string, sender: string, content: Record<string, unknown>, id = `$ev${Math.random().toString(36).slice(2)}`): MatrixEvent {
  return { type: "m.room.message", room_id: room, sender, event_id: id, origin_server_ts: Date.now(), content } as unknown as MatrixEvent;
}

export function ctxFor(b: any, e: MatrixEvent, hosted: any): BotContext {
  return contextFor(b, e, hosted);
}
