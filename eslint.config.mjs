import { createProjectGraphAsync } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// The module-boundary rule reads Nx's project graph (with source analysis on, nx.json): build it now, so
// that `npx eslint .` alone checks every boundary and fails on a cycle between libraries.
await createProjectGraphAsync({ exitOnError: true });

/** Node built-ins a domain library may not use (only node:crypto, for randomness, is allowed). */
const NODE_BUILTINS = [
  'fs',
  'fs/promises',
  'child_process',
  'worker_threads',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'os',
  'cluster',
  'path',
  'readline',
  'tls',
  'dns',
  'vm',
  'process',
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'libs/adapters/proto/src/gen/**', '**/dist/**', '.nx/**', 'bin/**', 'scripts/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:service', 'type:adapter', 'type:domain', 'type:proto'] },
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:service', 'type:adapter', 'type:domain', 'type:proto'] },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:proto'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
            { sourceTag: 'type:proto', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:service', 'type:adapter', 'type:domain', 'type:proto'] },
          ],
        },
      ],
    },
  },
  {
    // Domain libraries are pure: no gRPC, SQLite, libsodium, filesystem, processes, threads or network
    // (DESIGN.md §3), in every file of the library but its tests.
    files: ['libs/domain/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['@grpc/grpc-js', 'better-sqlite3', 'libsodium-wrappers-sumo', ...NODE_BUILTINS, ...NODE_BUILTINS.map((m) => `node:${m}`)],
          patterns: ['@grpc/*', '@fedlab/store', '@fedlab/crypto', '@fedlab/proto', '@fedlab/wire'],
        },
      ],
    },
  },
  {
    // Only apps read the environment (issue 17): a library gets what it needs as a parameter.
    files: ['libs/**/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'only apps read process.env; pass what the library needs as a parameter' },
      ],
    },
  },
  {
    // One owner per database (issue 17): SQLite is opened, and SQL written, only in the storage adapter.
    // (Domain libraries ban it above, with everything else impure; a second rule entry here would replace that one.)
    files: ['libs/services/*/src/**/*.ts', 'libs/adapters/{crypto,wire,ops}/src/**/*.ts', 'libs/testing/src/**/*.ts', 'apps/**/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'better-sqlite3', message: 'only libs/adapters/store opens SQLite: add a repository method there (docs/architecture.md)' }] },
      ],
    },
  },
);
