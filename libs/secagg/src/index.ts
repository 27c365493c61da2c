export * from './secagg-crypto';
