import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A migrated PostgreSQL database that each suite's fresh one copies (see there).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker less than the cores: one on the 2-core machines CI runs on.
    // Most tests wait on git, servers and databases rather than compute, so two files at a time
    // take little more CPU and about half the time.
    maxWorkers: 2,
  },
});
