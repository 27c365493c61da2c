export * from './sodium';
export * from './signing';
export * from './identity';
export * from './roster';
