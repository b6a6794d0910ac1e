/**
 * The AI models a simulated device runs, measured the way the agent
 * measures them (`agent/src/attestation/model-log.ts`): one `ima-ng` entry
 * per file in the model measurement log, its template hash extended into the
 * model PCR (13) in the SHA-1 and SHA-256 banks. The file contents are not
 * simulated, only their SHA-256, so a fleet shares one model set (one
 * allowlist) the way a real fleet ships one release.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_MODEL_PCR, modelMeasurement, type ModelMeasurement } from '@vigil/evidence';
import type { SoftwareTpm } from './software-tpm.js';

export interface ModelFile {
  readonly path: string;
  /** SHA-256 of the file, lowercase hex. */
  readonly digest: string;
}

/** A release of models: deterministic digests derived from `release`, so every process of a run agrees. */
export function modelRelease(release = 'v1', files = ['/opt/models/detector.onnx', '/opt/models/classifier.tflite', '/opt/models/labels.txt']): ModelFile[] {
  return files.map((path) => ({ path, digest: createHash('sha256').update(`vigil simulated model ${release} ${path}`).digest('hex') }));
}

/** The model measurement log of one boot: the lines the agent sends, the extends it made. */
export class SimModelLog {
  readonly #entries: ModelMeasurement[] = [];
  #version = 0;

  constructor(readonly pcr = DEFAULT_MODEL_PCR) {}

  get length(): number {
    return this.#entries.length;
  }

  /** Changes whenever the log does (a measurement, a clear): what tells a cached encoding of it that it is stale. */
  get version(): number {
    return this.#version;
  }

  /** Measures one file: the log entry, then the extend into the model PCR (in that order, as the agent does under its lock). */
  measure(tpm: SoftwareTpm, file: ModelFile): ModelMeasurement {
    const m = modelMeasurement(file.path, file.digest, this.pcr);
    this.#entries.push(m);
    this.#version++;
    tpm.extend(this.pcr, { sha1: m.extend.sha1, sha256: m.extend.sha256 });
    return m;
  }

  /** The ASCII lines from entry `offset` on, each ending in a newline. */
  linesFrom(offset: number): { text: string; count: number } {
    const slice = this.#entries.slice(offset);
    return { text: slice.map((m) => `${m.line}\n`).join(''), count: slice.length };
  }

  /** A TPM Reset cleared the PCR: the log restarts with the boot. */
  clear(): void {
    this.#entries.length = 0;
    this.#version++;
  }
}
