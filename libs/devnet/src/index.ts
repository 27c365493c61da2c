export * from './synthetic-files';
export * from './local-network';
export * from './demo';
