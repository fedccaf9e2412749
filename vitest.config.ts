import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files that start servers and real processes run two at a time.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
