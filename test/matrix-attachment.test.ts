// Matrix encrypted attachments (v2) as the bridge writes and reads them: the
// bytes come back only under the right key, IV and hash; an altered upload,
// a wrong key or a malformed `file` is refused naming the url.
import { createDecipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AttachmentError, decryptAttachment, encryptAttachment } from "../src/bridge/e2ee/attachment.js";

describe("encrypted attachments", () => {
  const plain = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);

  it("round-trips, and is what the spec's A256CTR with the given key and IV decrypts (as any client would)", () => {
    const { data, info } = encryptAttachment(plain);
    expect(Buffer.compare(Buffer.from(data), Buffer.from(plain))).not.toBe(0);
    const f = { ...info, url: "mxc://localhost/abc" };
    expect(Buffer.compare(Buffer.from(decryptAttachment(data, f)), Buffer.from(plain))).toBe(0);
    // Independently: Node's AES-256-CTR with the JWK's key and the IV, counter half zero.
    const iv = Buffer.from(info.iv, "base64");
    expect(iv.subarray(8).every((b) => b === 0)).toBe(true);
    const d = createDecipheriv("aes-256-ctr", Buffer.from(info.key.k, "base64url"), iv);
    expect(Buffer.compare(Buffer.concat([d.update(data), d.final()]), Buffer.from(plain))).toBe(0);
    expect(info).toMatchObject({ v: "v2", key: { alg: "A256CTR", kty: "oct", ext: true } });
  });

  it("refuses altered bytes, a wrong key, a missing hash", () => {
    const { data, info } = encryptAttachment(plain);
    const f = { ...info, url: "mxc://localhost/abc" };
    const bent = Uint8Array.from(data);
    bent[5] = bent[5]! ^ 1;
    expect(() => decryptAttachment(bent, f)).toThrow(AttachmentError);
    expect(() => decryptAttachment(bent, f)).toThrow(/do not match its hash/);
    expect(() => decryptAttachment(data, { ...f, key: { ...f.key, k: Buffer.alloc(16).toString("base64url") } })).toThrow(/wrong length/);
    expect(() => decryptAttachment(data, { ...f, hashes: {} as { sha256: string } })).toThrow(/mxc:\/\/localhost\/abc|hash/);
  });
});
