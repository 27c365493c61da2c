export * from './synthetic-files';
export * from './network-plan';
export * from './local-network';
export * from './demo-queries';
