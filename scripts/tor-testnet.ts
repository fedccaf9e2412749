// A private Tor network on loopback with a pursuance relay behind an onion
// address, for trying the CLI over Tor by hand (no internet needed):
//
//   npx tsx scripts/tor-testnet.ts [--clients N]
//
// prints the relay's ws://….onion URL and one socks5h:// URL per client tor,
// then runs until Ctrl-C, which stops every tor and the relay and removes
// the temp dir. Needs Debian's `tor` (apt-get install -y tor).
import { parseArgs } from "node:util";
import { startRelay } from "../src/cwtch/relay-server.js";
import { startTorNet, torUnavailable } from "../harness/tor-net.js";

const { values } = parseArgs({ options: { clients: { type: "string", default: "1" }, help: { type: "boolean", short: "h" } } });
if (values.help) {
  process.stdout.write("Usage: npx tsx scripts/tor-testnet.ts [--clients N]\n");
  process.exit(0);
}
const why = torUnavailable();
if (why) {
  process.stderr.write(`tor-testnet: ${why}\n`);
  process.exit(1);
}
const relay = await startRelay({ host: "127.0.0.1", port: 0 });
const log = (l: string) => process.stderr.write(`${l}\n`);
let net;
try {
  net = await startTorNet({ services: [{ port: 80, target: relay.port }], clients: Number(values.clients), log });
} catch (e) {
  log(String((e as Error).message));
  await relay.close();
  process.exit(1);
}
process.stdout.write(`relay  ws://${net.onion}\n`);
for (const p of net.socksPorts) process.stdout.write(`socks  socks5h://127.0.0.1:${p}\n`);
log("Ctrl-C stops the network.");
const done = async () => {
  await net.stop();
  await relay.close();
  process.exit(0);
};
process.once("SIGINT", done).once("SIGTERM", done);
