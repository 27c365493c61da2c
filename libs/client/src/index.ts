export * from './client';
export * from './log-client';
