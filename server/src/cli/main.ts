#!/usr/bin/env -S node --max-semi-space-size=32
// First: the thread pool's size is read when the pool starts (process/tuning.ts); the flag above is SERVER_NODE_FLAGS.
import '../process/tuning.js';
import { runCli } from '@vigil/runtime/cli';
import { commands } from './commands/index.js';

process.exitCode = await runCli({
  name: 'vigil-server',
  description: 'Vigil verifier server: fleet PKI, mutual-TLS MQTT broker, enrollment, continuous attestation and revocation',
  version: '0.1.0',
  commands,
});
