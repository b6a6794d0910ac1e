#!/usr/bin/env node
// `npm run demo [-- --keep ...]`: the same as `vigil-server demo`, through
// the same CLI (options, errors and exit codes).
process.argv.splice(2, 0, 'demo');
await import('../cli/main.js');
