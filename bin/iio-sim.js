#!/usr/bin/env node
// Launcher of the iio-sim CLI: runs the TypeScript sources through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { cliEntry } = await import('../src/cli.ts');
await cliEntry();
