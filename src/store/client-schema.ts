// Tables of a member's client (the CLI's, or each identity the bridge hosts):
// the verified events it holds, the keys it was given, and how far it has
// read each relay. Keyed by owner (the member's public key) and pursuance, so
// one database serves many identities.
import { bigint, bigserial, boolean, index, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { bytea } from "./relay-schema.js";

export const clientEvents = pgTable(
  "client_events",
  {
    owner: text("owner").notNull(),
    pursuance: text("pursuance").notNull(),
    id: text("id").notNull(),
    // Arrival order: reloading in this order lets the causal log rebuild without pending.
    n: bigserial("n", { mode: "number" }).notNull(),
    bytes: bytea("bytes").notNull(),
  },
  (t) => [primaryKey({ columns: [t.owner, t.pursuance, t.id] }), index("client_events_order_idx").on(t.owner, t.pursuance, t.n)],
);

export const clientKeys = pgTable(
  "client_keys",
  {
    owner: text("owner").notNull(),
    pursuance: text("pursuance").notNull(),
    keyId: text("key_id").notNull(),
    scope: text("scope").notNull(),
    key: bytea("key").notNull(),
    /** Handed over outside the log (a welcome, an invite, a rendezvous): it stands whatever the log says. */
    outOfBand: boolean("out_of_band").notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.owner, t.pursuance, t.keyId] })],
);

/** Document chunk frames this member attached or fetched (opaque: sealed under each file's key): a copy no relay loss takes, and in backups. */
export const clientChunks = pgTable(
  "client_chunks",
  {
    owner: text("owner").notNull(),
    pursuance: text("pursuance").notNull(),
    tag: text("tag").notNull(),
    blob: bytea("blob").notNull(),
  },
  (t) => [primaryKey({ columns: [t.owner, t.pursuance, t.tag] })],
);

export const clientCursors = pgTable(
  "client_cursors",
  {
    owner: text("owner").notNull(),
    pursuance: text("pursuance").notNull(),
    relay: text("relay").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.owner, t.pursuance, t.relay] })],
);
