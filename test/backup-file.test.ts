// The backup file format (src/cli/backup-file.ts): round trip with bytes
// inside, and a hostile or damaged header that still carries a valid
// checksum: an unknown version, or a key derivation cost meant to make the
// reader allocate gigabytes, is refused before any key is derived.
import { describe, expect, it } from "vitest";
import { BackupError, openBackup, sealBackup } from "../src/cli/backup-file.js";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { parseRelayArgs } from "../src/cli/relay-command.js";

const CHEAP = { opslimit: 1, memlimit: 8 * 1024 * 1024 };

describe("backup file", () => {
  it("round-trips a payload with bytes, and names each failure", async () => {
    const crypto = await loadCrypto();
    const payload = { kind: "member", key: new Uint8Array([0, 1, 2, 255]), nested: { list: [1, "two", null] } };
    const file = await sealBackup(crypto, payload, "a passphrase", CHEAP);
    expect(await openBackup(crypto, file, "a passphrase")).toEqual(payload);
    await expect(openBackup(crypto, file, "another")).rejects.toMatchObject({ code: "wrong-passphrase" });

    // Rewrite a header field and fix the checksum, as an attacker (or a newer writer) could.
    const reheader = (at: number, bytes: number[]) => {
      const f = Uint8Array.from(file);
      f.set(bytes, at);
      const body = f.subarray(0, f.length - 32);
      f.set(crypto.hash(body, 32), f.length - 32);
      return f;
    };
    const v2 = reheader(16, [2]);
    await expect(openBackup(crypto, v2, "a passphrase")).rejects.toThrow(/format version 2; this pursuance reads version 1/);
    const huge = reheader(22, [0xff, 0xff, 0xff, 0xff]); // memlimit ≈ 4 TiB
    const err = await openBackup(crypto, huge, "a passphrase").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupError);
    expect((err as BackupError).code).toBe("damaged");
    expect((err as Error).message).toMatch(/unknown key derivation/);
    const kdf = reheader(17, [9]);
    await expect(openBackup(crypto, kdf, "a passphrase")).rejects.toThrow(/unknown key derivation \(kdf 9/);
    // The header is bound to the ciphertext: another cost written in makes the key wrong, not the content readable.
    const other = reheader(18, [0, 0, 0, 2]);
    await expect(openBackup(crypto, other, "a passphrase")).rejects.toMatchObject({ code: "wrong-passphrase" });
  }, 30_000);

  it("relay --shared needs a PostgreSQL store", () => {
    expect(() => parseRelayArgs(["--shared"])).toThrow(/--shared needs a --store postgres/);
    expect(parseRelayArgs(["--shared", "--store", "postgres://x@h/db"])).toMatchObject({ shared: true });
  });
});
