import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'eval/test/**/*.test.ts', 'lab/test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
