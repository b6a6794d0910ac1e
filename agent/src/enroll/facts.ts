import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname, release, type as osType } from 'node:os';
import { HASH_ALGORITHMS, type DeviceFacts, type HashAlgorithm } from '@vigil/protocol/core';
import { type CommandRunner, getPcrBanks, getTpmIdentity } from '@vigil/tpm2-ts';

/** This agent's version, from its package.json (the same path from src/ and dist/). */
export const AGENT_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/**
 * What the device says about itself in its enrollment request: recorded by
 * the server for operators, never trusted for a decision (the PCR banks only
 * spare the device challenges for banks its TPM lacks). Each field is cut
 * to the protocol's limit and stripped of control characters.
 */
export async function deviceFacts(tpm: CommandRunner): Promise<DeviceFacts> {
  const identity = await getTpmIdentity(tpm);
  // The allocated banks the protocol can name: the verifier then asks only for PCRs this TPM has.
  const pcrBanks = (await getPcrBanks(tpm)).map((b) => b.name).filter((name): name is HashAlgorithm => (HASH_ALGORITHMS as readonly string[]).includes(name));
  return {
    hostname: text(hostname(), 253),
    os: text(`${(await prettyOsName()) ?? osType()} ${release()}`, 128),
    arch: text(process.arch, 32),
    agentVersion: text(AGENT_VERSION, 64),
    tpm: { manufacturer: text(identity.manufacturer, 64), firmwareVersion: text(identity.firmwareVersionString, 64), pcrBanks },
  };
}

/** PRETTY_NAME from os-release(5), if there is one. */
async function prettyOsName(): Promise<string | undefined> {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      const m = /^PRETTY_NAME=(?:"([^"]*)"|(.*))$/m.exec(await readFile(path, 'utf8'));
      if (m) return m[1] ?? m[2];
    } catch {
      // try the next location
    }
  }
  return undefined;
}

function text(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, max);
}
