// A bridge backup restored under another identity key (the new machine's
// identities.key or PURSUANCE_IDENTITY_KEY): every row sealed at rest is
// opened with the backup's key and sealed again with the new one, bound to
// the same purpose. A row that does not open fails the whole restore before
// anything is written, naming the row.
import { concat, fromB64, toB64 } from "../cwtch/bytes.js";
import { eventPurpose, keyPurpose, SEALED_EVENT } from "../store/client-store.js";
import type { Row, TableDump } from "../store/backup-tables.js";
import type { IdentityVault } from "./identity-vault.js";
import { INBOUND_PURPOSE, SEALED_INBOUND } from "./sealed-store.js";
import { e2eePurpose } from "./e2ee/sealed.js";

const str = (r: Row, k: string) => String(r[k]);
const bytes = (r: Row, k: string) => r[k] as Uint8Array;

/** A copy of `dump` with every sealed value moved from `from`'s key to `to`'s; `dump` is left as it was. */
export function resealDump(dump: TableDump, from: IdentityVault, to: IdentityVault): TableDump {
  const out: TableDump = { ...dump };
  const map = (name: string, f: (r: Row) => Row) => {
    if (dump[name]) out[name] = dump[name]!.map(f);
  };
  map("bridge_identities", (r) => {
    const who = `${str(r, "matrixUser")}|${str(r, "groupId")}`;
    return { ...r, sealedSecret: to.seal(from.open(bytes(r, "sealedSecret"), who).secretKey, who) };
  });
  map("client_keys", (r) => {
    const k = bytes(r, "key");
    // 32 bytes: a key written before sealing; the bridge seals it on first load.
    if (k.length === 32) return r;
    const p = keyPurpose(str(r, "owner"), str(r, "pursuance"), str(r, "scope"));
    return { ...r, key: to.sealBytes(from.openBytes(k, p), p) };
  });
  map("client_events", (r) => {
    const b = bytes(r, "bytes");
    if (b[0] !== SEALED_EVENT) return r;
    const p = eventPurpose(str(r, "owner"), str(r, "pursuance"));
    return { ...r, bytes: concat(Uint8Array.of(SEALED_EVENT), to.sealBytes(from.openBytes(b.subarray(1), p), p)) };
  });
  map("bridge_inbound", (r) => {
    const e = str(r, "event");
    if (!e.startsWith(SEALED_INBOUND)) return r;
    const plain = from.openBytes(fromB64(e.slice(SEALED_INBOUND.length)), INBOUND_PURPOSE);
    return { ...r, event: SEALED_INBOUND + toB64(to.sealBytes(plain, INBOUND_PURPOSE)) };
  });
  map("bridge_e2ee_devices", (r) => {
    const p = e2eePurpose(str(r, "userId"), str(r, "deviceId"));
    return { ...r, sealedState: to.sealBytes(from.openBytes(bytes(r, "sealedState"), p), p) };
  });
  return out;
}
