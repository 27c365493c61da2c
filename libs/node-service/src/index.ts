export * from './policy-file';
export * from './query-executor';
export * from './node-agent';
export * from './node-connection';
export * from './node-config';
export * from './node-daemon';
export * from './node-migrations';
export * from './log-proof';
