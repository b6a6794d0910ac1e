import type { ComponentFactory } from './context.js';

/**
 * The server's components, started in this order after the store and the
 * broker, and closed in reverse. Each is loaded lazily so that `vigil-server`
 * commands that do not start the server stay fast.
 */
export const components: ReadonlyArray<{ readonly name: string; readonly load: () => Promise<ComponentFactory> }> = [
  { name: 'registrar', load: async () => (await import('../registrar/component.js')).registrarComponent },
  // Webhook before revocation before verifier and staleness: each finds the one before in ctx.services.
  { name: 'webhook', load: async () => (await import('../webhook/component.js')).webhookComponent },
  { name: 'revocation', load: async () => (await import('../revocation/component.js')).revocationComponent },
  { name: 'verifier', load: async () => (await import('../verifier/component.js')).verifierComponent },
  { name: 'staleness', load: async () => (await import('../verifier/component.js')).stalenessComponent },
  { name: 'retention', load: async () => (await import('../verifier/component.js')).retentionComponent },
  // Last: its operations use the services of every component before it.
  { name: 'admin-api', load: async () => (await import('../admin/api/component.js')).adminApiComponent },
];
