import { defineConfig } from "vitest/config";

// The private Tor network (9 tor processes voting every few seconds) misses
// votes when it shares two cores with the Synapse and CLI end-to-end files, and
// then onion lookups time out. It runs last and alone: its own project, in a
// later group.
const TOR = "test/tor-e2e.test.ts";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files that start servers and real processes run two at a time.
    maxWorkers: 2,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: ["test/**/*.test.ts"],
          // The compose stack builds Docker images: its own command, `npm run test:compose` (.ci/run runs both).
          exclude: ["test/compose-stack.test.ts", TOR, "**/node_modules/**"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "tor", include: [TOR], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
