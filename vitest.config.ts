import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'node/**/*.test.ts',
      'network/**/*.test.ts',
      'scripts/**/*.test.ts',
      'test/**/*.test.ts',
      'chaincode/test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
