import { Compile } from 'typebox/compile';
import { PolicyError } from './errors.js';
import { PolicyDocument } from './schema.js';

// Compiled once per process: evaluating a policy never compiles a schema.
const validator = Compile(PolicyDocument);

/**
 * Checks that a JSON value (a stored policy document, an imported file) is a
 * policy document; throws PolicyError `invalid-policy` naming the first bad
 * field as a JSON pointer.
 */
export function parsePolicyDocument(value: unknown): PolicyDocument {
  if (validator.Check(value)) return value;
  const first = validator.Errors(value).find((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean') ?? validator.Errors(value)[0];
  const path = first?.instancePath ?? '';
  let detail = first?.message ?? 'does not match the policy schema';
  if (first?.keyword === 'additionalProperties') {
    const names = (first.params as { additionalProperties?: string[] }).additionalProperties ?? [];
    detail = `unknown ${names.length === 1 ? 'property' : 'properties'} ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  }
  throw new PolicyError('invalid-policy', `policy ${path === '' ? '(root)' : path}: ${detail}`, path);
}
