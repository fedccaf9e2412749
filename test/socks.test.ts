// Reaching a relay as an onion service: RelayClient through a SOCKS5 proxy.
// The proxy here is a minimal RFC 1928 server (no auth, CONNECT, IPv4 and
// domain names) that plays Tor: it maps a made-up .onion name to the real
// relay on 127.0.0.1 and records every CONNECT it is asked for.
import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { Group } from "../src/cwtch/group.js";
import { GroupSession } from "../src/cwtch/group-session.js";
import { RelayClient, RelayError } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";

const ONION = "relayexample2345abcdefghijklmnopqrstuvwxyz234567abcdefgh.onion";
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;

interface ConnectRequest {
  atyp: number;
  host: string;
  port: number;
}

interface SocksProxy {
  port: number;
  /** TCP connections accepted. */
  connections: number;
  requests: ConnectRequest[];
  /** Cut every open tunnel (the client must reconnect through the proxy). */
  cutAll(): void;
  close(): Promise<void>;
}

/** A minimal SOCKS5 server: no-auth, CONNECT only, ATYP IPv4 and domain name. */
async function startSocks5(onions: Record<string, string>): Promise<SocksProxy> {
  const sockets = new Set<Socket>();
  const s: SocksProxy = { port: 0, connections: 0, requests: [], cutAll: () => sockets.forEach((x) => x.destroy()), close: async () => {} };
  const reply = (sock: Socket, rep: number) => sock.write(Buffer.from([0x05, rep, 0x00, ATYP_IPV4, 0, 0, 0, 0, 0, 0]));

  const server: Server = createServer((sock) => {
    s.connections++;
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => sock.destroy());
    let buf = Buffer.alloc(0);
    let stage: "greeting" | "request" | "busy" = "greeting";
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === "greeting") {
        if (buf.length < 2) return;
        if (buf[0] !== 0x05) return void sock.destroy();
        const n = buf[1]!;
        if (buf.length < 2 + n) return;
        const methods = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        if (!methods.includes(0x00)) return void sock.end(Buffer.from([0x05, 0xff]));
        sock.write(Buffer.from([0x05, 0x00]));
        stage = "request";
      }
      if (stage === "request") {
        if (buf.length < 5) return;
        const [ver, cmd, , atyp] = buf;
        if (ver !== 0x05) return void sock.destroy();
        let host: string;
        let at: number;
        if (atyp === ATYP_IPV4) {
          if (buf.length < 10) return;
          host = [...buf.subarray(4, 8)].join(".");
          at = 8;
        } else if (atyp === ATYP_DOMAIN) {
          const len = buf[4]!;
          if (buf.length < 5 + len + 2) return;
          host = buf.subarray(5, 5 + len).toString("latin1");
          at = 5 + len;
        } else {
          reply(sock, 0x08); // address type not supported
          return void sock.end();
        }
        const port = buf.readUInt16BE(at);
        const rest = buf.subarray(at + 2);
        stage = "busy";
        if (cmd !== 0x01) {
          reply(sock, 0x07); // command not supported
          return void sock.end();
        }
        s.requests.push({ atyp: atyp!, host, port });
        // Like Tor: onion names resolve only inside the proxy; unknown ones are unreachable.
        const target = host.endsWith(".onion") ? onions[host] : host;
        if (!target) {
          reply(sock, 0x04); // host unreachable
          return void sock.end();
        }
        const up = connect(port, target, () => {
          sock.off("data", onData);
          reply(sock, 0x00);
          if (rest.length > 0) up.write(rest);
          sock.pipe(up);
          up.pipe(sock);
        });
        sockets.add(up);
        up.on("close", () => (sockets.delete(up), sock.destroy()));
        up.on("error", () => {
          if (!sock.destroyed) reply(sock, 0x05); // connection refused
          sock.destroy();
        });
        sock.on("close", () => up.destroy());
      }
    };
    sock.on("data", onData);
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  s.port = (server.address() as AddressInfo).port;
  s.close = async () => {
    s.cutAll();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return s;
}

let crypto: Crypto;
let relay: RelayServer;
let socks: SocksProxy;
const clients: RelayClient[] = [];
const groups: Group[] = [];

beforeAll(async () => {
  crypto = await loadCrypto();
  relay = await startRelay({ heartbeatMs: 0 });
  socks = await startSocks5({ [ONION]: "127.0.0.1" });
});
afterAll(async () => {
  for (const g of groups) g.close();
  for (const c of clients) c.close();
  await socks.close();
  await relay.close();
});

function client(url: string, socksProxy?: string): RelayClient {
  const c = new RelayClient({ url, crypto, minBackoffMs: 50, maxBackoffMs: 300, requestTimeoutMs: 5000, ...(socksProxy ? { socksProxy } : {}) });
  clients.push(c);
  return c;
}
const waitFor = async (pred: () => boolean, ms: number, what: string) => {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("relay client through SOCKS5", () => {
  it("posts and fetches a frame via an .onion name the proxy resolves (socks5h, ATYP domain)", async () => {
    const before = { conns: socks.connections, reqs: socks.requests.length };
    const c = client(`ws://${ONION}:${relay.port}`, `socks5h://127.0.0.1:${socks.port}`).start();
    const hello = await c.ready();
    expect(hello.version).toBe(1);
    expect(socks.connections).toBe(before.conns + 1);
    expect(socks.requests.slice(before.reqs)).toEqual([{ atyp: ATYP_DOMAIN, host: ONION, port: relay.port }]);

    const tag = "b25pb24tdGVzdC10YWctMQ";
    const blob = crypto.randomBytes(600);
    const posted = await c.post(tag, blob);
    expect(posted.duplicate).toBe(false);
    const got: string[] = [];
    const r = await c.fetch([tag], 0, (f) => got.push(f.blob));
    expect(got).toEqual([Buffer.from(blob).toString("base64url")]);
    expect(r.latest).toBeGreaterThanOrEqual(posted.seq);
    // It really reached the relay: a direct client reads the same frame at the same seq.
    const direct = client(relay.url).start();
    const seen: Array<{ seq: number; blob: string }> = [];
    await direct.fetch([tag], 0, (f) => seen.push({ seq: f.seq, blob: f.blob }));
    expect(seen).toEqual([{ seq: posted.seq, blob: Buffer.from(blob).toString("base64url") }]);
  });

  it("connects by IPv4 address (ATYP 1) with socks5://", async () => {
    const before = socks.requests.length;
    const c = client(relay.url, `socks5://127.0.0.1:${socks.port}`).start();
    await c.ready();
    expect(socks.requests.slice(before)).toEqual([{ atyp: ATYP_IPV4, host: "127.0.0.1", port: relay.port }]);
    const p = await c.post("aXB2NC10YWc", utf8.encode("over ipv4"));
    expect(p.seq).toBeGreaterThan(0);
  });

  it("carries a group over the onion link both ways, and reconnects through the proxy", async () => {
    const groupId = crypto.randomBytes(32);
    const key = crypto.randomBytes(32);
    const session = () => new GroupSession({ crypto, identity: crypto.signKeyPair(), groupId, epochs: [{ epoch: 0, key }], now: Date.now });
    const overTor = new Group({ session: session(), relays: [client(`ws://${ONION}:${relay.port}`, `socks5h://127.0.0.1:${socks.port}`)], repairDelayMs: 50, repairIntervalMs: 300 });
    const direct = new Group({ session: session(), relays: [client(relay.url)], repairDelayMs: 50, repairIntervalMs: 300 });
    groups.push(overTor, direct);
    await waitFor(() => overTor.status().relays[0]!.connected && direct.status().relays[0]!.connected, 5000, "both connected");
    await new Promise((r) => setTimeout(r, 100));

    const a = await overTor.publish(utf8.encode("from behind tor"));
    await waitFor(() => direct.session.log.has(toHex(a.id)), 5000, "direct to receive");
    const b = await direct.publish(utf8.encode("to the onion"));
    await waitFor(() => overTor.session.log.has(toHex(b.id)), 5000, "onion side to receive");
    expect(utf8.decode(direct.session.log.get(toHex(a.id))!.body)).toBe("from behind tor");

    // Cut the tunnel: the client reconnects, again through the proxy, and catches up.
    const conns = socks.connections;
    const reqs = socks.requests.length;
    socks.cutAll();
    const c2 = await direct.publish(utf8.encode("while the circuit was down"));
    await waitFor(() => overTor.session.log.has(toHex(c2.id)), 10_000, "catch-up after reconnect");
    expect(socks.connections).toBeGreaterThan(conns);
    // (Other clients of this file were cut too and come back the same way they came.)
    expect(socks.requests.slice(reqs)).toContainEqual({ atyp: ATYP_DOMAIN, host: ONION, port: relay.port });
    expect(overTor.session.log.size).toBe(3);
  });

  it("refuses an .onion relay without a proxy, or with a proxy that would resolve the name locally", () => {
    let err: unknown;
    try {
      new RelayClient({ url: `ws://${ONION}:80`, crypto });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe("config");
    expect((err as RelayError).message).toMatch(/needs a SOCKS5 proxy.*socks5h:\/\//);
    for (const scheme of ["socks5", "socks4"]) {
      expect(() => new RelayClient({ url: `ws://${ONION}:80`, crypto, socksProxy: `${scheme}://127.0.0.1:9050` })).toThrow(/leaks the onion address; use socks5h/);
    }
    // Ordinary hosts need no proxy, and a .onion with socks5h is accepted (not yet connected).
    expect(() => new RelayClient({ url: "ws://127.0.0.1:1", crypto }).close()).not.toThrow();
    expect(() => new RelayClient({ url: `ws://${ONION}:80`, crypto, socksProxy: "socks5h://127.0.0.1:9" }).close()).not.toThrow();
  });

  it("an onion name the proxy cannot resolve never connects, and posting fails with a RelayError", async () => {
    const before = socks.requests.length;
    const c = new RelayClient({ url: `ws://unknownunknownunknownunknownunknownunknownunknownunknow.onion:${relay.port}`, crypto, socksProxy: `socks5h://127.0.0.1:${socks.port}`, minBackoffMs: 50, maxBackoffMs: 100, requestTimeoutMs: 500 });
    clients.push(c);
    c.start();
    await expect(c.post("dGFn", utf8.encode("x"))).rejects.toMatchObject({ name: "RelayError", code: "unavailable" });
    expect(c.connected).toBe(false);
    expect(socks.requests.length).toBeGreaterThan(before);
    // Earlier tests' clients may still be reconnecting through the same proxy: look for ours.
    expect(socks.requests.slice(before).some((r) => r.host.startsWith("unknown"))).toBe(true);
  });
});
