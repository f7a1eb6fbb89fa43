import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // globalThis.gc for the tests that measure retained memory (test/fuzz.test.ts, test/robust.test.ts)
    execArgv: ['--expose-gc'],
    reporters: ['default'],
  },
});
