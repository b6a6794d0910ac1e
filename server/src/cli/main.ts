#!/usr/bin/env node
import { runCli } from '@vigil/runtime/cli';
import { commands } from './commands/index.js';

process.exitCode = await runCli({
  name: 'vigil-server',
  description: 'Vigil verifier server: fleet PKI, mutual-TLS MQTT broker, enrollment, continuous attestation and revocation',
  version: '0.1.0',
  commands,
});
