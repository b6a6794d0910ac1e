import Type from 'typebox';

/**
 * The admin API: HTTPS with client certificates (TLS 1.3 only), on its own
 * port, loopback by default. There is no plaintext listener; /healthz and
 * /readyz answer without a client certificate, everything else needs an
 * admin credential (see server/src/admin/README.md).
 */
export const AdminConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve the admin API (the CLI falls back to the database when it is off).' }),
    host: Type.String({ minLength: 1, maxLength: 255, default: '127.0.0.1', description: 'Address the admin API binds to; loopback by default (use "::" to reach it from other hosts, e.g. for Prometheus).' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8443, description: 'TCP port of the admin API (0 picks a free port; the ready line and DIR/run/admin.json say which).' }),
    localCredentialDays: Type.Integer({
      minimum: 1,
      maximum: 3650,
      default: 397,
      description: 'Lifetime of the local admin credential in DIR/admin/ that vigil-server commands on this host use; start renews it when under 30 days are left.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Admin API (HTTPS, mutual TLS, roles from the admin certificate) and /metrics, /healthz, /readyz.' },
);
