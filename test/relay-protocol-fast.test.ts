// The relay's fast paths for posts must accept and refuse exactly what the
// generic ones do: PostBytes (decode straight into the post's own buffer,
// hashes over slices of it) against fromB64Canonical, frameDigest and postAck;
// parsePostFast against parseClientFrame (what it takes, parseClientFrame
// takes the same; what it passes on, parseClientFrame decides as before).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromB64Canonical } from "../src/cwtch/bytes.js";
import { PostBytes } from "../src/cwtch/relay-post-bytes.js";
import { parsePostFast } from "../src/cwtch/relay-post-fast.js";
import { FrameError, parseClientFrame, postAck, type ClientFrame } from "../src/cwtch/relay-protocol.js";
import { frameDigest } from "../src/cwtch/relay-store.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** What a blob's text may hold besides its alphabet, as clients (or attackers) spell it. */
const ODD = ["=", "==", "+", "/", "\\", '"', " ", "\n", "\t", "\r", "\u0000", "\u001f", ".", "é", "Ł", "İ", "\u2028", "\ud800", "\\u0041", "A=", "~"];

/** Strings near base64url: canonical blobs, with a few odd characters put in, or cut short. */
const nearB64 = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("base64url")),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("base64")),
  fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...ODD)), { maxLength: 3 })).map(([b, odd]) => {
    let s = Buffer.from(b).toString("base64url");
    for (const [at, c] of odd) s = s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1));
    return s;
  }),
  fc.string({ unit: fc.constantFrom(...ALPHABET.split(""), ...ODD), maxLength: 24 }),
);

describe("PostBytes", () => {
  it("decodes exactly the strings fromB64Canonical decodes, to the same bytes", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), nearB64, (tag, s) => {
        const want = fromB64Canonical(s);
        const got = PostBytes.decode(tag, s);
        if (want === null) expect(got).toBeNull();
        else expect(got && Buffer.from(got.blob).equals(want)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("digest is frameDigest in base64 and ack(seq) is postAck, for any seq, however often asked", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.uint8Array({ maxLength: 2048 }), fc.array(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { minLength: 1, maxLength: 3 }), (tag, bytes, seqs) => {
        const p = PostBytes.decode(tag, Buffer.from(bytes).toString("base64url"))!;
        expect(p.digest()).toBe(frameDigest(tag, bytes).toString("base64"));
        for (const seq of seqs) expect(p.ack(seq)).toBe(postAck(seq, tag, bytes));
        expect(p.digest()).toBe(frameDigest(tag, bytes).toString("base64"));
      }),
      { numRuns: 500 },
    );
  });

  it("its blob is its own: not a view into a pooled buffer other allocations share", () => {
    const p = PostBytes.decode("t", Buffer.from("hello").toString("base64url"))!;
    expect(p.blob.buffer.byteLength).toBeLessThan(64 + 5);
  });
});

const MAX = 400; // longest blob text the fast path takes here (the relay passes maxB64 + 4)
const T = "AAAAAAAAAAAAAAAAAAAAAA";
const B = Buffer.from("a blob of some bytes").toString("base64url");

/**
 * Both paths on one text: whenever the fast path takes it, parseClientFrame
 * returns the same frame and the blob decodes canonically to the same bytes.
 * Returns whether the fast path took it.
 */
function agree(text: string): boolean {
  const fast = parsePostFast(text, MAX);
  let slow: ClientFrame | FrameError;
  try {
    slow = parseClientFrame(text);
  } catch (e) {
    if (!(e instanceof FrameError)) throw e;
    slow = e;
  }
  if (fast === null) return false;
  expect(slow).toEqual(fast.frame);
  expect(fast.frame.blob.length).toBeLessThanOrEqual(MAX);
  const canonical = fromB64Canonical(fast.frame.blob);
  expect(canonical && Buffer.from(fast.bytes.blob).equals(canonical)).toBe(true);
  return true;
}

describe("parsePostFast", () => {
  it("takes posts as clients and the bench spell them, and agrees with parseClientFrame", () => {
    const taken = [
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}"}`,
      `{"op":"post","tag":"${T}","blob":"${B}","rid":0}`,
      `{"op":"post","tag":"${T}","blob":"${B}","pow":"AAAAAAAAAAA","rid":999999999999999}`,
      `{"rid":7,"blob":"${B}","op":"post","tag":"x"}`,
      `{"op":"post","rid":1,"tag":"${"t".repeat(64)}","blob":"AA"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${"A".repeat(MAX)}"}`,
    ];
    for (const t of taken) expect(agree(t), t).toBe(true);
  });

  it("passes on everything else, and parseClientFrame decides it as before", () => {
    const post = (members: string) => `{"op":"post",${members}}`;
    const passed = [
      // JSON the fast path does not read: whitespace, escapes, repeated keys, other numbers.
      `{ "op":"post","rid":1,"tag":"${T}","blob":"${B}"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}"} `,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}"}\n`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"AAAA\\u0041AAA"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"AAAA\\u0041AA"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"AA\\"AA"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"AA\\/A"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}","blob":"AAAA"}`,
      `{"op":"post","rid":1,"rid":2,"tag":"${T}","blob":"${B}"}`,
      `{"op":"post","op":"post","rid":1,"tag":"${T}","blob":"${B}"}`,
      `{"op":"post","rid":1,"tag":"${T}","tag":"${T}","blob":"${B}"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}","pow":"AA","pow":"AB"}`,
      `{"op":"post","rid":1,"t\\u0061g":"${T}","blob":"${B}"}`,
      `{"op":"p\\u006fst","rid":1,"tag":"${T}","blob":"${B}"}`,
      post(`"rid":-0,"tag":"${T}","blob":"${B}"`),
      post(`"rid":-1,"tag":"${T}","blob":"${B}"`),
      post(`"rid":1e3,"tag":"${T}","blob":"${B}"`),
      post(`"rid":1.0,"tag":"${T}","blob":"${B}"`),
      post(`"rid":1.5,"tag":"${T}","blob":"${B}"`),
      post(`"rid":01,"tag":"${T}","blob":"${B}"`),
      post(`"rid":1000000000000000,"tag":"${T}","blob":"${B}"`),
      post(`"rid":9007199254740992,"tag":"${T}","blob":"${B}"`),
      post(`"rid":"1","tag":"${T}","blob":"${B}"`),
      post(`"rid":null,"tag":"${T}","blob":"${B}"`),
      post(`"rid":1,"tag":"${T}","blob":"${B}","extra":1`),
      post(`"rid":1,"tag":"${T}","blob":"${B}","pow":null`),
      post(`"rid":1,"tag":"${T}","blob":"${B}","pow":""`),
      post(`"rid":1,"tag":"${T}","blob":"${B}","pow":"${"A".repeat(25)}"`),
      post(`"rid":1,"tag":"${T}","blob":"${B}","pow":"A+A"`),
      post(`"rid":1,"tag":"${T}"`),
      post(`"rid":1,"blob":"${B}"`),
      post(`"tag":"${T}","blob":"${B}"`),
      post(`"rid":1,"tag":"","blob":"${B}"`),
      post(`"rid":1,"tag":"${"t".repeat(65)}","blob":"${B}"`),
      post(`"rid":1,"tag":"a+b","blob":"${B}"`),
      post(`"rid":1,"tag":7,"blob":"${B}"`),
      post(`"rid":1,"tag":"${T}","blob":""`),
      post(`"rid":1,"tag":"${T}","blob":7`),
      post(`"rid":1,"tag":"${T}","blob":["AAAA"]`),
      // Blobs that are not canonical base64url (JSON.parse reads them as they are).
      ...["AA==", "AAA=", "AB", "AAB", "A", "AAAAA", "A+AA", "A/AA", "A AA", "AA\tA", "éAAA", "AA.A", "A".repeat(MAX + 1)].map((b) => post(`"rid":1,"tag":"${T}","blob":${JSON.stringify(b)}`)),
      // Not a post, or not an object.
      `{"op":"fetch","rid":1,"tag":"${T}","blob":"${B}"}`,
      `{"op":"ping","rid":1}`,
      `{"rid":1,"tag":"${T}","blob":"${B}"}`,
      `[{"op":"post","rid":1,"tag":"${T}","blob":"${B}"}]`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}"`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}",}`,
      `{"op":"post",,"rid":1,"tag":"${T}","blob":"${B}"}`,
      `{"op":"post","rid":1"tag":"${T}","blob":"${B}"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob""${B}"}`,
      `{"op":"post","rid":1,"tag":"${T}","blob":"${B}"}}`,
      `{"op":"post"}`,
      `{}`,
      `{`,
      `}`,
      ``,
      `null`,
    ];
    for (const t of passed) expect(agree(t), t).toBe(false);
  });

  it("refuses a blob with a character beyond ASCII (Node's decoder would read \"Ł\" as \"A\": a second spelling of one blob), on both paths", () => {
    expect(fromB64Canonical("ŁAAA")).toBeNull();
    expect(fromB64Canonical("AAAA")).not.toBeNull();
    expect(agree(`{"op":"post","rid":1,"tag":"${T}","blob":"ŁAAA"}`)).toBe(false);
  });

  const key = fc.constantFrom("op", "rid", "tag", "blob", "pow", "extra", "t\\u0061g");
  const value = fc.oneof(
    fc.constantFrom('"post"', '"fetch"', "0", "1", "-0", "01", "1e3", "1.0", "9007199254740993", "123456789012345", "1234567890123456", "null", "[]", "{}", '""', `"${T}"`, '"x"', '"AA"', '"AA=="', '"A+AA"', "true"),
    fc.nat({ max: 2 ** 53 }).map(String),
    fc.stringMatching(/^[A-Za-z0-9_-]{0,70}$/).map((v) => `"${v}"`),
    nearB64.map((v) => JSON.stringify(v)),
    nearB64.map((v) => `"${v}"`), // raw, as a careless or hostile client writes it
  );
  /** A post's members in any order, then a few edits (a value swapped, a member added or dropped), some with a stray byte put in. */
  const frames = fc
    .tuple(
      fc.oneof(fc.nat({ max: 10_000 }), fc.nat({ max: 2 ** 53 })),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b).toString("base64url")), nearB64),
      fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/), { nil: undefined }),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom("swap", "add", "drop"), key, value), { maxLength: 2 }),
      fc.option(fc.tuple(fc.constantFrom(" ", ",", "\\", '"', ":", "}", "{", "\n", "\u0000"), fc.nat()), { nil: undefined }),
    )
    .chain(([rid, tag, blob, pow, edits, stray]) => {
      const members: Array<[string, string]> = [["op", '"post"'], ["rid", String(rid)], ["tag", `"${tag}"`], ["blob", `"${blob}"`], ...(pow !== undefined ? [["pow", `"${pow}"`] as [string, string]] : [])];
      return fc.shuffledSubarray(members, { minLength: members.length, maxLength: members.length }).map((m) => {
        for (const [at, kind, k, v] of edits) {
          const i = at % (m.length + 1);
          if (kind === "swap" && i < m.length) m[i] = [m[i]![0], v];
          else if (kind === "add") m.splice(i, 0, [k, v]);
          else if (kind === "drop") m.splice(i, 1);
        }
        const s = `{${m.map(([k, v]) => `"${k}":${v}`).join(",")}}`;
        if (!stray) return s;
        const p = stray[1] % (s.length + 1);
        return s.slice(0, p) + stray[0] + s.slice(p);
      });
    });

  it("agrees with parseClientFrame on generated frames (fast-check)", () => {
    let taken = 0;
    fc.assert(
      fc.property(frames, (t) => void (agree(t) && taken++)),
      { numRuns: 20_000 },
    );
    // The generator reaches the fast path, not only the fallback.
    expect(taken).toBeGreaterThan(500);
  });

  it("takes every valid post clients write, whatever its values", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 999_999_999_999_999 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        fc.uint8Array({ minLength: 1, maxLength: 290 }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/), { nil: undefined }),
        fc.boolean(),
        (rid, tag, bytes, pow, clientOrder) => {
          const blob = Buffer.from(bytes).toString("base64url");
          const f = clientOrder ? { op: "post", tag, blob, ...(pow !== undefined ? { pow } : {}), rid } : { op: "post", rid, tag, blob, ...(pow !== undefined ? { pow } : {}) };
          expect(agree(JSON.stringify(f))).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
