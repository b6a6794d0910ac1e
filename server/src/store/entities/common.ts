/** Unix time in milliseconds. Every time the store keeps or takes is one of these. */
export type EpochMs = number;

/** A JSON value as stored (policies, audit details, session context). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Who did something, for the audit log: `cli:<user>`, `registrar`, `verifier`, `api:<client>`. */
export type Actor = string;
