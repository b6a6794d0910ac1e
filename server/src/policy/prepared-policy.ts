import type { PcrSelection } from '@vigil/protocol/core';
import { dispositionOf, effectiveSelection, modelPcrOf } from './defaults.js';
import { BANKS, type Bank, type Disposition, type PolicyDocument, type SecureBootPolicy } from './schema.js';

/**
 * A policy document turned into the lookups the appraisal makes (sets
 * instead of arrays), once per policy version, not once per verdict.
 * `PreparedPolicy.none` is what applies to a device no policy is assigned
 * to: integrity only (the logs must replay to the quoted PCRs), the default
 * PCR selection, the fleet model allowlist.
 */
export class PreparedPolicy {
  /** `name@version`, or `none` (EAR `ear.appraisal-policy-id`). */
  readonly id: string;
  readonly selection: PcrSelection;
  readonly modelPcr: number;
  /** Allowed PCR values per bank and index (lowercase hex). */
  readonly pcrs: ReadonlyMap<Bank, ReadonlyMap<number, ReadonlySet<string>>>;
  readonly bootApplications: ReadonlySet<string> | undefined;
  readonly bootDrivers: ReadonlySet<string> | undefined;
  readonly secureBoot: SecureBootPolicy | undefined;
  /** Model name or path → allowed digests, from the policy itself. */
  readonly models: ReadonlyMap<string, ReadonlySet<string>>;
  readonly useFleetAllowlist: boolean;
  readonly intervalMs: number | undefined;
  readonly disposition: { readonly boot: Disposition; readonly os: Disposition; readonly models: Disposition };

  constructor(
    readonly name: string | null,
    readonly version: number | null,
    readonly document: PolicyDocument | undefined,
  ) {
    this.id = name === null ? 'none' : `${name}@${version}`;
    this.selection = effectiveSelection(document);
    this.modelPcr = modelPcrOf(document);
    const pcrs = new Map<Bank, Map<number, Set<string>>>();
    for (const bank of BANKS) {
      const values = document?.pcrs?.[bank];
      if (values === undefined) continue;
      pcrs.set(bank, new Map(Object.entries(values).map(([pcr, list]) => [Number(pcr), new Set(list)])));
    }
    this.pcrs = pcrs;
    const eventLog = document?.eventLog;
    this.bootApplications = eventLog?.bootApplications && new Set(eventLog.bootApplications);
    this.bootDrivers = eventLog?.bootDrivers && new Set(eventLog.bootDrivers);
    this.secureBoot = eventLog?.secureBoot;
    this.models = new Map(Object.entries(document?.models?.allowed ?? {}).map(([k, v]) => [k, new Set(v)]));
    this.useFleetAllowlist = document?.models?.fleetAllowlist ?? true;
    this.intervalMs = document?.intervalSeconds === undefined ? undefined : Math.round(document.intervalSeconds * 1000);
    this.disposition = { boot: dispositionOf(document, 'boot'), os: dispositionOf(document, 'os'), models: dispositionOf(document, 'models') };
  }

  /** The policy for devices without an assignment. */
  static readonly none = new PreparedPolicy(null, null, undefined);
}
