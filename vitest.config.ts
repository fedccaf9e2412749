import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The compose stack builds Docker images: its own command, `npm run test:compose` (.ci/run runs both).
    exclude: ["test/compose-stack.test.ts", "**/node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files that start servers and real processes run two at a time.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
