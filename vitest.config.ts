import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs in seconds with no servers; `e2e` needs the Go-built
// Nomad/Consul/Traefik from `npm run tools` and owns a whole local cluster.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          sequence: { concurrent: false },
        },
      },
    ],
  },
});
