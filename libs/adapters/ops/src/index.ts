export * from './admin-server';
export * from './fedlab-metrics';
export * from './grpc-health';
export { Registry } from 'prom-client';
export * from './shutdown';
export * from './terminal-prompt';
export * from './failpoint';
export * from './listen-error';
