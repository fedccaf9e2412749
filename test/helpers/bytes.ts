// Test data: deterministic pseudo-random bytes (xorshift32), so a failing
// comparison can be reproduced, and the frames a relay holds, counted through
// a connection of the test's own.
import { RelayClient } from "../../src/cwtch/relay-client.js";
import { ports } from "./pursuance-node.js";

export function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export async function framesOn(url: string): Promise<number> {
  const rc = new RelayClient({ url, crypto: (await ports()).crypto, minBackoffMs: 50, maxBackoffMs: 500, requestTimeoutMs: 5_000 });
  rc.start();
  try {
    await rc.ready();
    return (await rc.fetch(null, 0, () => {})).frames;
  } finally {
    rc.close();
  }
}
