import { defineConfig } from "vitest/config";

// `npm run test:compose`: the docker-compose stack, built and used for real.
export default defineConfig({
  test: {
    include: ["test/compose-stack.test.ts"],
    testTimeout: 1_200_000,
    hookTimeout: 900_000,
    reporters: ["default"],
  },
});
