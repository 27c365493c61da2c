export * from './secagg-crypto';
export * from './encoding';
export * from './secagg-protocol';
export * from './secagg-client';
export * from './secagg-server';
export * from './secagg-session';
export { frame, unframe, wordsToBytes, bytesToWords } from './bytes';
export * from './contribution';
