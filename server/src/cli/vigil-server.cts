#!/usr/bin/env node
// The `vigil-server` command. CommonJS, so that it runs before any ES
// module is read: it sizes libuv's thread pool (../threadpool.cts says why
// only code here can), then runs the CLI (main.js).
import threadpool = require('../threadpool.cjs');

threadpool.sizeThreadPool();
void import('./main.js');
