// The end-to-bridge encryption devices' rows (bridge_e2ee_devices): opaque,
// already-sealed bytes per Matrix user; sealing is the bridge's business.
import { eq } from "drizzle-orm";
import { bridgeE2eeDevices } from "./bridge-schema.js";
import type { Db } from "./db.js";

export interface E2eeDeviceRows {
  get(userId: string): Promise<{ deviceId: string; sealedState: Uint8Array } | null>;
  put(userId: string, deviceId: string, sealedState: Uint8Array): Promise<void>;
}

export function e2eeDeviceRows(db: Db): E2eeDeviceRows {
  return {
    async get(userId) {
      const r = await db.select().from(bridgeE2eeDevices).where(eq(bridgeE2eeDevices.userId, userId));
      return r[0] ? { deviceId: r[0].deviceId, sealedState: r[0].sealedState } : null;
    },
    async put(userId, deviceId, sealedState) {
      await db
        .insert(bridgeE2eeDevices)
        .values({ userId, deviceId, sealedState })
        .onConflictDoUpdate({ target: bridgeE2eeDevices.userId, set: { deviceId, sealedState } });
    },
  };
}
