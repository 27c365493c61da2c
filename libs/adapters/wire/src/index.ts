export * from './query-codec';
export * from './result-codec';
export * from './envelope';
export * from './grpc-errors';
export * from './addresses';
export * from './secagg-codec';
export * from './tls';
export * from './log-summary';
