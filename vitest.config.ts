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
    // Each file in a fresh process imported the server and its dependencies again: 1 to 2.5 s of
    // CPU per file, over 80 files. Files share their worker's modules instead; file-setup.ts puts
    // back what a file may leave in the process (its umask, its folder) before the next one.
    isolate: false,
    setupFiles: ['test/helpers/file-setup.ts'],
    // Memory tests measure what stays alive, not the garbage other files in the process left.
    execArgv: ['--expose-gc'],
  },
});
