#!/usr/bin/env node
// The CLI entry point: Node >= 22.18 runs the TypeScript sources directly (type stripping).
import { main } from '../src/main.ts';

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`emporium: ${error?.stack ?? error}\n`);
  process.exit(1);
});
