export * from './errors';
export * from './schema';
export * from './query';
export * from './result';
export * from './policy';
export * from './logger';
export * from './validation';
export * from './duration';
