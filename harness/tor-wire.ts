// The two bits of Tor's wire that the test network needs from Node: a bare
// SOCKS5 CONNECT (to see Tor's reply code, which socks-proxy-agent hides) and
// SIGNAL NEWNYM on a control port.
import { connect } from "node:net";

/** Open a SOCKS5 CONNECT to host:port (domain name, resolved by tor) and close it; resolves the reply code. */
export function socksConnectCode(socksPort: number, host: string, port: number, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(socksPort, "127.0.0.1");
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`SOCKS CONNECT to ${host}:${port} via ${socksPort} timed out`))), timeoutMs);
    let buf = Buffer.alloc(0);
    let stage = 0;
    s.on("connect", () => s.write(Buffer.from([0x05, 0x01, 0x00])));
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 2) {
        buf = buf.subarray(2);
        stage = 1;
        const name = Buffer.from(host, "latin1");
        const req = Buffer.concat([Buffer.from([0x05, 0x01, 0x00, 0x03, name.length]), name, Buffer.from([port >> 8, port & 0xff])]);
        s.write(req);
      }
      if (stage === 1 && buf.length >= 2) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf[1]!);
      }
    });
    s.on("error", (e) => (clearTimeout(timer), reject(e)));
  });
}

/** SIGNAL NEWNYM over a no-auth control port: fresh circuits, onion lookups forgotten. */
export function newnym(controlPort: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(controlPort, "127.0.0.1", () => s.write("AUTHENTICATE\r\nSIGNAL NEWNYM\r\nQUIT\r\n"));
    let out = "";
    s.setTimeout(10_000, () => s.destroy(new Error("control port timed out")));
    s.on("data", (d) => (out += d));
    s.on("close", () => (/^250 OK\r\n250 OK/.test(out) ? resolve() : reject(new Error(`control port said ${JSON.stringify(out)}`))));
    s.on("error", reject);
  });
}
