// The published wire vectors, re-derived by an implementation that shares no
// code with ours: scripts/vectors/check_vectors.py (PyNaCl's libsodium, and
// OpenSSL + hashlib + its own HChaCha20), through scripts/vectors/check.sh,
// which sets up its pinned venv on first use. The checker must also be able
// to fail: a copy of the file with one byte of one field changed is refused,
// and the refusal names that field.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const script = join(repo, "scripts", "vectors", "check.sh");
const vectors = join(repo, "test", "vectors", "messages.json");
const tmp = mkdtempSync(join(tmpdir(), "vectors-python-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function check(file?: string): { code: number | null; out: string; err: string } {
  const r = spawnSync("bash", [script, ...(file ? [file] : [])], { encoding: "utf8", timeout: 240_000 });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A copy of the vectors with one byte (the `byte`-th) of one hex field changed. */
function tampered(path: Array<string | number>, byte: number): string {
  const doc = JSON.parse(readFileSync(vectors, "utf8")) as Record<string, unknown>;
  let parent = doc as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const hex = parent[last] as string;
  const b = parseInt(hex.slice(2 * byte, 2 * byte + 2), 16) ^ 0x01;
  parent[last] = hex.slice(0, 2 * byte) + b.toString(16).padStart(2, "0") + hex.slice(2 * byte + 2);
  const file = join(tmp, `${path.join("-")}.json`);
  writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
  return file;
}

describe("wire vectors, re-derived in Python", () => {
  it("every field of messages.json matches what libsodium and OpenSSL derive", () => {
    const r = check();
    expect(r.err).not.toMatch(/MISMATCH/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fields re-derived \(7 cases, 2 epochs, 2 identities\), all match/);
  }, 300_000);

  const fields: Array<[Array<string | number>, number, string]> = [
    [["identities", "B", "publicKey"], 0, "identities.B.publicKey"],
    [["epochs", 1, "encKey"], 31, "epochs[1].encKey"],
    [["cases", 2, "expected", "sig"], 17, "cases[2].expected.sig"],
    [["cases", 4, "expected", "frame"], 700, "cases[4].expected.frame"],
    [["cases", 1, "expected", "id"], 5, "cases[1].expected.id"],
    [["cases", 6, "expected", "unsigned"], 80, "cases[6].expected.unsigned"],
  ];
  it.each(fields)("a copy with one byte of %j changed is refused, naming the field", (path, byte, name) => {
    const r = check(tampered(path, byte));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`MISMATCH`);
    expect(r.err).toContain(` at ${name}: `);
  }, 120_000);
});
