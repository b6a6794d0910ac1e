import type { EnrollRejection } from '@vigil/protocol/core';

/**
 * An enrollment refused for a named reason. The reason travels to the
 * device in the `result` message (`@vigil/protocol`'s `ENROLL_REJECTIONS`)
 * and into the audit log; the message is for humans and never carries a
 * secret. Every step of the flow throws one of these; anything else that
 * escapes a step is a bug and becomes `internal-error`.
 */
export class EnrollmentRefusal extends Error {
  constructor(
    readonly reason: EnrollRejection,
    message: string,
  ) {
    super(message);
    this.name = 'EnrollmentRefusal';
  }
}

export function refuse(reason: EnrollRejection, message: string): never {
  throw new EnrollmentRefusal(reason, message);
}
