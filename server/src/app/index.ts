export { startVigilServer, type StartServerOptions, type RunningServer } from './server.js';
export type { ServerContext, Component, ComponentFactory } from './context.js';
export { ServiceDirectory, serviceKey, type ServiceKey } from './services.js';
