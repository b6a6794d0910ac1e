#!/usr/bin/env node
import { runCli } from '@vigil/runtime/cli';
import { commands } from './commands/index.js';

process.exitCode = await runCli({
  name: 'vigil-agent',
  description: "Vigil device agent: proves this device's firmware, OS and AI models with its TPM 2.0",
  version: '0.1.0',
  commands,
});
