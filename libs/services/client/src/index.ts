export * from './client';
export * from './log-client';
export * from './governance-client';
export * from './network-status';
