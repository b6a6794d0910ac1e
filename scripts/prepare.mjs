#!/usr/bin/env node
// Makes a fresh clone ready to run: the Debian packages Vigil's tests and demo
// need (swtpm, swtpm-tools, tpm2-tools, openssl, mosquitto-clients), then `npm ci` when
// node_modules is missing or older than package-lock.json. Uses only Node's
// standard library so it runs before any dependency is installed.
//
//   node scripts/prepare.mjs [--extra mosquitto,postgresql] [--no-npm]
//
// Exit codes: 0 ready; 2 a system package is missing and cannot be installed
// here (the exact command to run is printed).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const extraIdx = args.indexOf('--extra');
const extras = extraIdx >= 0 ? (args[extraIdx + 1] ?? '').split(',').filter(Boolean) : [];

// command on PATH -> Debian package that provides it
const required = [
  ['swtpm', 'swtpm'],
  ['swtpm_setup', 'swtpm-tools'],
  ['tpm2_quote', 'tpm2-tools'],
  ['tpm2_checkquote', 'tpm2-tools'],
  ['openssl', 'openssl'],
  // the broker tests hold standard MQTT clients to the same rules as ours
  ['mosquitto_pub', 'mosquitto-clients'],
  ['mosquitto_sub', 'mosquitto-clients'],
];
const optional = {
  mosquitto: [['mosquitto', 'mosquitto'], ['mosquitto_sub', 'mosquitto-clients']],
  postgresql: [['psql', 'postgresql'], ['/usr/lib/postgresql', 'postgresql']],
};
for (const e of extras) required.push(...(optional[e] ?? []));

function has(cmd) {
  if (cmd.startsWith('/')) return existsSync(cmd);
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
    || existsSync(`/usr/sbin/${cmd}`);
}

const missing = [...new Set(required.filter(([c]) => !has(c)).map(([, p]) => p))];
if (missing.length > 0) {
  const isRoot = process.getuid?.() === 0;
  const hasApt = has('apt-get');
  if (isRoot && hasApt) {
    process.stderr.write(`vigil: installing ${missing.join(' ')} (apt-get)\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
      r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
    }
    if (r.status !== 0) {
      process.stderr.write(`vigil: apt-get install failed; run: apt-get update && apt-get install -y ${missing.join(' ')}\n`);
      process.exit(2);
    }
  } else {
    process.stderr.write(
      `vigil: missing system packages: ${missing.join(' ')}\n` +
      `       install them with: sudo apt-get install -y ${missing.join(' ')}\n`,
    );
    process.exit(2);
  }
}

if (!args.includes('--no-npm')) {
  const lock = join(root, 'package-lock.json');
  const marker = join(root, 'node_modules', '.package-lock.json');
  const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);
  if (stale) {
    process.stderr.write('vigil: installing npm dependencies (npm ci; better-sqlite3 builds from source, ~2 min)\n');
    const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
    if (ci.status !== 0) {
      process.stderr.write('vigil: npm ci failed (see above); the lock file must install as committed\n');
      process.exit(3);
    }
  }
}
