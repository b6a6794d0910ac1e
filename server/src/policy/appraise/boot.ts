import type { VerdictReason } from '@vigil/protocol/core';
import type { AppraisalFacts, BootEventFact, SignatureDatabaseFact } from '../facts.js';
import type { PreparedPolicy } from '../prepared-policy.js';
import { oneOf, reason } from './reason.js';

/**
 * The `boot` part of a policy (golden PCR values, event-log reference values,
 * secure boot state) against facts the verifier already bound to the quote.
 * Returns one reason per divergence, naming the PCR, event or database entry.
 */
export function appraiseBoot(policy: PreparedPolicy, facts: AppraisalFacts): VerdictReason[] {
  const out: VerdictReason[] = [];
  checkPcrs(policy, facts, out);
  const log = facts.bootLog;
  if (policy.bootApplications !== undefined || policy.bootDrivers !== undefined || policy.secureBoot !== undefined) {
    if (log === null) {
      out.push(reason('event-log-missing', 'the policy has event-log reference values but the device sent no boot event log'));
      return out;
    }
  }
  if (log === null) return out;
  if (policy.bootApplications !== undefined) checkEvents('boot-application-not-allowed', 'boot application', log.applications, policy.bootApplications, out);
  if (policy.bootDrivers !== undefined) checkEvents('boot-driver-not-allowed', 'boot driver', log.drivers, policy.bootDrivers, out);
  const sb = policy.secureBoot;
  if (sb !== undefined) {
    const state = log.secureBoot;
    if (sb.required === true) {
      if (state.enabled !== true) out.push(reason('secure-boot-off', `secure boot is ${state.enabled === false ? 'off' : 'not measured'}; the policy requires it`, { pcr: 7 }));
      for (const p of state.problems.slice(0, 8)) out.push(reason('secure-boot-state-untrusted', p, { pcr: 7 }));
    }
    if (sb.pk !== undefined) checkDatabase('PK', state.pk, sb.pk, out);
    if (sb.kek !== undefined) checkDatabase('KEK', state.kek, sb.kek, out);
    if (sb.db !== undefined) checkDatabase('db', state.db, sb.db, out);
    if (sb.dbxMustContain !== undefined) {
      const dbx = new Set(state.dbx.entries);
      for (const entry of sb.dbxMustContain) {
        if (!dbx.has(entry)) out.push(reason('dbx-entry-missing', `the dbx does not forbid ${entry}, which the policy requires it to`, { pcr: 7, expected: entry }));
      }
    }
  }
  return out;
}

function checkPcrs(policy: PreparedPolicy, facts: AppraisalFacts, out: VerdictReason[]): void {
  for (const [bank, values] of policy.pcrs) {
    const quoted = facts.quoted[bank];
    // A bank the quote lacks entirely is one the TPM does not have: `appraiseBanks` names it once.
    if (quoted === undefined) continue;
    for (const [pcr, allowed] of values) {
      const actual = quoted?.[String(pcr)];
      if (actual === undefined) {
        out.push(reason('pcr-not-quoted', `${bank} PCR ${pcr} has golden values but was not quoted`, { bank, pcr }));
      } else if (!allowed.has(actual)) {
        out.push(reason('pcr-value-not-allowed', `${bank} PCR ${pcr} holds a value the policy does not allow`, { bank, pcr, expected: oneOf(allowed), actual }));
      }
    }
  }
}

function checkEvents(code: string, what: string, events: readonly BootEventFact[], allowed: ReadonlySet<string>, out: VerdictReason[]): void {
  for (const e of events) {
    if (e.digests.some((d) => allowed.has(d))) continue;
    out.push(reason(code, `${what} measured in event ${e.event} (PCR ${e.pcr}) is not one the policy allows`, { pcr: e.pcr, event: e.event, actual: e.digests[0] ?? '' }));
    if (out.length >= 32) return;
  }
}

function checkDatabase(name: string, measured: SignatureDatabaseFact, allowed: readonly string[], out: VerdictReason[]): void {
  if (!measured.measured) {
    out.push(reason('secure-boot-database-not-measured', `${name} was not measured but the policy lists its allowed entries`, { pcr: 7 }));
    return;
  }
  const ok = new Set(allowed);
  for (const entry of measured.entries) {
    if (!ok.has(entry)) out.push(reason('secure-boot-database-entry-not-allowed', `${name} holds an entry the policy does not allow`, { pcr: 7, actual: entry }));
  }
}
