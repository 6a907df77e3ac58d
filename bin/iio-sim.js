#!/usr/bin/env node
// Launcher of the iio-sim CLI. The package runs the compiled JavaScript in dist/. In a clone of the
// repository, where src/ exists, it runs dist/ only while dist/ is at least as new as everything in src/, and
// otherwise the TypeScript sources through tsx (a dev dependency), so no build step is needed to develop.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

// Answered before anything is loaded: scripts ask for it, and it needs nothing but package.json.
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  process.stdout.write(`iio-sim ${version}\n`);
  process.exit(0);
}

/** Last modification (ms) of a path, or null when it does not exist. */
function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Whether dist/ was built after the last change in src/ (a file or folder written, added or removed). */
function distIsCurrent() {
  const built = mtime(join(root, 'dist', 'cli.js'));
  if (built === null) return false;
  const src = join(root, 'src');
  const changed = mtime(src);
  if (changed === null) return true;
  if (changed > built) return false;
  for (const name of readdirSync(src, { recursive: true })) {
    if (mtime(join(src, name)) > built) return false;
  }
  return true;
}

let cli;
if (distIsCurrent()) {
  cli = await import(pathToFileURL(join(root, 'dist', 'cli.js')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
await cli.cliEntry();
