import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import pkg from './package.json' with { type: 'json' };

/**
 * Imports of the package by its own name (`iio-dmabuf-sim/user`...) run the sources, as the rest of the suite
 * does: each entry's `iio-sim-source` file in package.json, not the compiled dist/ that the package ships.
 */
const selfImports = Object.entries(pkg.exports).flatMap(([entry, target]) =>
  typeof target === 'object' && 'iio-sim-source' in target
    ? [{ find: new RegExp(`^${pkg.name}${entry.slice(1)}$`), replacement: resolve(target['iio-sim-source']) }]
    : [],
);

export default defineConfig({
  resolve: { alias: selfImports },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
