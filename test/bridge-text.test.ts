// What the bridge does to text before a homeserver sees it: names made one
// visible line, bodies stripped of reordering controls, and every message
// fitted to the event size limit with a pointer to the whole text.
import { describe, expect, it } from "vitest";
import { fitContent, MAX_CONTENT_BYTES } from "../src/bridge/fit-message.js";
import { cleanBody, cleanName } from "../src/bridge/sanitize.js";
import { nameProblem } from "../src/pursuance/names.js";

const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v), "utf8");

describe("cleanName", () => {
  it("cannot forge a second line or reorder the text around it", () => {
    expect(cleanName("alice\nalice removed bob")).toBe("alice alice removed bob");
    expect(cleanName("mallory\u202Egnp.exe\u2066x\u2069")).toBe("mallorygnp.exex");
    expect(cleanName("a\r\n\tb\u2028c\u0000d\u0085e")).toBe("a b c d e");
    expect(cleanName(" \n\u202E ")).toBe("?");
    expect(Array.from(cleanName("x".repeat(500)))).toHaveLength(64);
  });

  it("drops what renders as nothing, so a Matrix display name is a name the log accepts (docs/protocol.md, Who is who)", () => {
    const name = cleanName("\u{1F469}\u200D\u{1F4BB} al\u00ADice\u2060\uFE0F\u034F");
    expect(name).toBe("\u{1F469}\u{1F4BB} alice");
    expect(nameProblem(name)).toBeNull();
  });
});

describe("cleanBody", () => {
  it("keeps newlines and tabs, drops other controls and bidi overrides", () => {
    expect(cleanBody("line one\r\nline\ttwo\u202E\u0007")).toBe("line one\nline\ttwo");
  });
});

describe("fitContent", () => {
  it("leaves a message that fits alone", () => {
    const c = { msgtype: "m.text", body: "hi", formatted_body: "<b>hi</b>" };
    expect(fitContent(c)).toBe(c);
  });

  it("cuts what does not fit, says so and where the rest is, in both bodies", () => {
    for (const ch of ["T", "<", "é", "😀"]) {
      const c = { msgtype: "m.text", body: `📋 Task #3: ${ch.repeat(40_000)}`, formatted_body: `<b>x</b>${ch.repeat(40_000)}`, "m.mentions": {} };
      const f = fitContent(c, "!task show 3");
      expect(size(f)).toBeLessThanOrEqual(MAX_CONTENT_BYTES);
      expect(f.body.startsWith("📋 Task #3: ")).toBe(true);
      expect(f.body).toMatch(/cut: too long for one Matrix message; the whole text: !task show 3\)$/);
      expect(f.formatted_body).toContain("!task show 3");
      expect(f.formatted_body).not.toMatch(/<(?!br\/>)/);
      expect(f["m.mentions"]).toEqual({});
      expect(f.body).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    }
  });
});
