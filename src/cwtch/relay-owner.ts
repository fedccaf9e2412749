// Who a relay charges for what a connection posts, for fair eviction
// (relay-memory-store.ts ranks owners by what they hold).

/**
 * The owner fair eviction charges: the remote address, so opening more
 * connections buys no larger share (an IPv6 client is its /64, which it gets
 * whole). Over loopback (a Tor onion service, a local proxy, tests) every
 * client shares one address, so each connection is its own owner there.
 */
export function ownerOf(a: string | undefined, connection: string): string {
  if (a === undefined || a === "::1" || a.startsWith("127.") || a.startsWith("::ffff:127.")) return connection;
  if (a.startsWith("::ffff:")) return a.slice(7);
  if (a.includes(":")) return `${expandV6(a).slice(0, 4).join(":")}::/64`;
  return a;
}

function expandV6(a: string): string[] {
  const [head, tail] = a.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : Array(Math.max(0, 8 - h.length - t.length)).fill("0");
  return [...h, ...fill, ...t].map((x) => x.toLowerCase().replace(/^0+(?=.)/, ""));
}
