export * from './gen/fedlab/v1/envelope';
export * from './gen/fedlab/v1/query';
export * from './gen/fedlab/v1/result';
export * from './gen/fedlab/v1/catalog';
export * from './gen/fedlab/v1/gateway';
export * from './gen/fedlab/v1/research';
export * from './gen/fedlab/v1/transparency';
export * from './gen/fedlab/v1/governance';
