import Type from 'typebox';

/**
 * The `store:` section: where the verifier keeps its state. Empty `url`
 * (the default) is the embedded SQLite database in the data directory; a
 * `postgres://` URL is a PostgreSQL database that any number of verifier
 * replicas share (see docs/deployment.md). `VIGIL_STORE_URL` sets it from
 * the environment.
 */
export const StoreConfig = Type.Object(
  {
    url: Type.String({
      maxLength: 2048,
      pattern: '^(postgres(ql)?://\\S+)?$',
      default: '',
      description:
        'Empty: the SQLite database in the data directory (vigil.db). postgres://USER@HOST:5432/DB (libpq parameters such as ?sslmode=verify-full or ?host=/run/postgresql allowed): a PostgreSQL database shared by verifier replicas. Give the password in PGPASSWORD or ~/.pgpass, not here.',
    }),
    poolSize: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'PostgreSQL connections this server process may open.' }),
    groupCommitMs: Type.Number({
      minimum: 0,
      maximum: 50,
      default: 2,
      description:
        'Group commit: how long the verifier holds a write (a challenge issued or used, a verdict) for others to share its transaction, in ms, when no commit is running and writes come more often than this; the window closes early once 16 writes wait. 2 saved 11-18 % of server CPU per verdict at ~500 verdicts/s for ~6 ms of verdict latency (docs/benchmarks.md); 0 commits at the end of each event-loop turn.',
    }),
    attestationRetentionDays: Type.Integer({
      minimum: 0,
      maximum: 36_500,
      default: 30,
      description:
        'Days the attestation history (every verdict) is kept; each device keeps its latest whatever its age, and devices, revocations and the audit log are never pruned. Pruned hourly. 0 keeps it for ever. About 1 KB a verdict: 10,000 devices every 60 s record ~15 GB a day (docs/deployment.md).',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Where the verifier keeps devices, challenges, verdicts and the audit log.' },
);
