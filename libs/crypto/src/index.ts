export * from './sodium';
export * from './signing';
export * from './identity';
export * from './roster';
export * from './signed-roster-file';
export * from './secagg-crypto';
