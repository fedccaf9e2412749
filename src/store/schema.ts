// The whole drizzle schema, for drizzle-kit and the migrator. Each layer keeps
// its tables in its own file; add a re-export line here for new ones.
export * from "./relay-schema.js";
export * from "./client-schema.js";
export * from "./bridge-schema.js";
export * from "./announce-schema.js";
