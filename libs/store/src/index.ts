export * from './database';
export * from './node-migrations';
export * from './dataset-schema';
export * from './csv-import';
export * from './dataset-catalog';
export * from './audit-log';
export * from './nonce-store';
export * from './merkle-store';
