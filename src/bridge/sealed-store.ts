// Inbound Matrix events wait in the bridge's database until handled, and one
// may carry a pasted invite (keys, an invite seed): they are stored sealed
// under the vault key like every other secret at rest. Rows written before
// sealing (plain JSON) still resume.
import { fromB64, toB64, utf8 } from "../cwtch/bytes.js";
import type { IdentityVault } from "./identity-vault.js";
import type { BridgeStorePort } from "./ports.js";

export const SEALED_INBOUND = "sealed:";
export const INBOUND_PURPOSE = "inbound-event";
const SEALED = SEALED_INBOUND;
const PURPOSE = INBOUND_PURPOSE;

export function withSealedInbound(store: BridgeStorePort, vault: IdentityVault): BridgeStorePort {
  return {
    ...store,
    claimInbound: (eventId, roomId, event) => store.claimInbound(eventId, roomId, SEALED + toB64(vault.sealBytes(utf8.encode(event), PURPOSE))),
    async pendingInbound() {
      return (await store.pendingInbound()).map((raw) => (raw.startsWith(SEALED) ? utf8.decode(vault.openBytes(fromB64(raw.slice(SEALED.length)), PURPOSE)) : raw));
    },
  };
}
