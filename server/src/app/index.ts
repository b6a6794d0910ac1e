export { startVigilServer, type StartServerOptions, type RunningServer } from './server.js';
export type { ServerContext, Component, ComponentFactory } from './context.js';
