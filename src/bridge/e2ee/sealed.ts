// A device's crypto store at rest: the key the machine encrypts its store
// with, and the store's snapshot, sealed together under the vault key and
// bound to the user and device, so a row copied to another user does not open.
import { randomBytes } from "node:crypto";
import type { E2eeDeviceRows } from "../../store/e2ee-store.js";
import type { CryptoStorePort } from "./machine.js";
import { E2eeStoreError } from "./machine.js";
import type { IdentityVault } from "../identity-vault.js";

export const e2eePurpose = (userId: string, deviceId: string) => `e2ee-device|${userId}|${deviceId}`;

/** The store port of the machines, and each user's store key (random per device, kept in the sealed row). */
export class SealedCryptoStore implements CryptoStorePort {
  private readonly keys = new Map<string, Uint8Array>();

  constructor(
    private readonly rows: E2eeDeviceRows,
    private readonly vault: IdentityVault,
  ) {}

  /** The key for the user's store: the saved one once load() has run, else a new one. */
  storeKey(userId: string): Uint8Array {
    let k = this.keys.get(userId);
    if (!k) this.keys.set(userId, (k = new Uint8Array(randomBytes(32))));
    return k;
  }

  async load(userId: string): Promise<{ deviceId: string; state: Uint8Array } | null> {
    const row = await this.rows.get(userId);
    if (!row) return null;
    let plain: Uint8Array;
    try {
      plain = this.vault.openBytes(row.sealedState, e2eePurpose(userId, row.deviceId));
    } catch {
      throw new E2eeStoreError(
        `the end-to-bridge crypto store of ${userId} (device ${row.deviceId}) does not open with this bridge's identity key: ` +
          `the database and identities.key (or PURSUANCE_IDENTITY_KEY) do not belong together. Use the key this database was made with.`,
        userId,
        row.deviceId,
      );
    }
    if (plain.length < 32) throw new E2eeStoreError(`the end-to-bridge crypto store of ${userId} is damaged (${plain.length} bytes)`, userId, row.deviceId);
    this.keys.set(userId, plain.slice(0, 32));
    return { deviceId: row.deviceId, state: plain.slice(32) };
  }

  async save(userId: string, deviceId: string, state: Uint8Array): Promise<void> {
    const key = this.storeKey(userId);
    const plain = new Uint8Array(32 + state.length);
    plain.set(key, 0);
    plain.set(state, 32);
    await this.rows.put(userId, deviceId, this.vault.sealBytes(plain, e2eePurpose(userId, deviceId)));
  }
}
