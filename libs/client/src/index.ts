export * from './client';
export * from './log-client';
export * from './governance-client';
