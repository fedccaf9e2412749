// Relay tables. The relay stores opaque frames only; `digest` makes duplicate
// detection an index lookup, and `relay_state` remembers how far eviction got
// so a restarted relay still tells clients which cursors lost frames.
import { bigint, customType, index, integer, pgTable, smallint, text, uniqueIndex } from "drizzle-orm/pg-core";

export const bytea = customType<{ data: Uint8Array; driverData: Buffer }>({
  dataType: () => "bytea",
  toDriver: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength),
  fromDriver: (v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
});

export const relayFrames = pgTable(
  "relay_frames",
  {
    // Identity, not max(seq)+1: a sequence never hands out a number twice,
    // even after the newest frames are evicted or the relay restarts.
    seq: bigint("seq", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    tag: text("tag").notNull(),
    blob: bytea("blob").notNull(),
    digest: bytea("digest").notNull(),
    size: integer("size").notNull(),
    at: bigint("at", { mode: "number" }).notNull(),
  },
  (t) => [uniqueIndex("relay_frames_digest_idx").on(t.digest), index("relay_frames_tag_seq_idx").on(t.tag, t.seq)],
);

export const relayState = pgTable("relay_state", {
  id: smallint("id").primaryKey(),
  evictedThrough: bigint("evicted_through", { mode: "number" }).notNull(),
  /** Random, set once: names this store's numbering, so clients can tell a new store from an old one. */
  instance: text("instance"),
});
