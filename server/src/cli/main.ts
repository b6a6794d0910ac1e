#!/usr/bin/env node
// First, before anything can start libuv's thread pool: its size (process/tuning.ts).
import '../process/tuning.js';
import { runCli } from '@vigil/runtime/cli';
import { commands } from './commands/index.js';

process.exitCode = await runCli({
  name: 'vigil-server',
  description: 'Vigil verifier server: fleet PKI, mutual-TLS MQTT broker, enrollment, continuous attestation and revocation',
  version: '0.1.0',
  commands,
});
