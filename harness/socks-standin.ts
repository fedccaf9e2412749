// A SOCKS5 proxy standing in for a member's own Tor where no Tor network is
// reachable (CI): it answers CONNECT for one onion address only, and carries
// that to the relay's published port, so the member's client runs exactly as
// with Tor (`--socks socks5h://…`, a ws://<address>.onion/ relay, the name
// resolved by the proxy, never locally). Anything else is refused, as Tor
// would refuse an address it cannot reach. (Real Tor: test/tor-e2e.test.ts.)
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface SocksStandIn {
  url: string;
  /** Every host:port asked for, in order: the test checks the member asked for the onion. */
  asked: string[];
  close(): Promise<void>;
}

export async function socksStandIn(onionHost: string, target: { host: string; port: number }): Promise<SocksStandIn> {
  const asked: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    let buf = Buffer.alloc(0);
    let stage: "hello" | "request" | "piped" = "hello";
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === "hello") {
        if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
        if (buf[0] !== 5) return client.destroy();
        buf = buf.subarray(2 + buf[1]!);
        client.write(Buffer.from([5, 0])); // no authentication
        stage = "request";
      }
      if (stage === "request") {
        if (buf.length < 5) return;
        if (buf[3] !== 3) return reply(8); // only host names: socks5h, as Tor needs
        const n = buf[4]!;
        if (buf.length < 5 + n + 2) return;
        const host = buf.subarray(5, 5 + n).toString("latin1");
        const port = buf.readUInt16BE(5 + n);
        const rest = buf.subarray(5 + n + 2);
        asked.push(`${host}:${port}`);
        if (buf[1] !== 1 || host !== onionHost || port !== 80) return reply(4); // host unreachable
        stage = "piped";
        client.off("data", onData);
        const up = createConnection(target, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          if (rest.length > 0) up.write(rest);
          client.pipe(up).pipe(client);
        });
        sockets.add(up);
        up.on("close", () => {
          sockets.delete(up);
          client.destroy();
        });
        up.on("error", () => reply(5));
        client.on("close", () => up.destroy());
      }
    };
    const reply = (code: number) => {
      client.end(Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]));
    };
    client.on("data", onData);
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("the SOCKS stand-in has no TCP address");
  return {
    url: `socks5h://127.0.0.1:${addr.port}`,
    asked,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
