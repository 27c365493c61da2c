// The store the Coordinator is built over (its implementation lives in @fedlab/store).
export { CoordinatorStore } from '@fedlab/store';
export * from './coordinator';
export * from './grpc-server';
export * from './coordinator-config';
export * from './project-registry';
export * from './public-register';
export * from './page-server';
export * from './dashboard';
export * from './roster-publication';
