export * from './temp-dir';
export * from './fixture-dataset';
export * from './test-network';
export * from './test-log';
export * from './query-spec';
export * from './network-fixture';
export * from './sealed-answer';
export * from './postgres-server';
