/**
 * The names EAR verdicts use (draft-ietf-rats-ear), as plain data: the
 * schema (`schema/ear.ts`) is built from these, and code that only needs
 * the names does not load the schema engine.
 */

export const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';

/** Appraisal status of a submodule (EAR §3.1, the AR4SI tiers). */
export const EAR_STATUSES = ['none', 'affirming', 'warning', 'contraindicated'] as const;
export type EarStatus = (typeof EAR_STATUSES)[number];

/**
 * The submodules Vigil appraises: `boot` (firmware and boot chain, PCRs 0-9),
 * `os` (IMA runtime measurements), `models` (AI model files), `identity`
 * (the TPM, its AK and the quote's freshness and signature). A submodule the
 * policy does not appraise is omitted.
 */
export const SUBMODULES = ['boot', 'os', 'models', 'identity'] as const;
export type Submodule = (typeof SUBMODULES)[number];
