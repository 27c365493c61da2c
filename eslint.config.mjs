import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'libs/proto/src/gen/**', '**/dist/**', '.nx/**', 'bin/**', 'scripts/**'] },
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
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:proto'] },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:proto'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
            { sourceTag: 'type:proto', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:adapter', 'type:domain', 'type:proto'] },
          ],
        },
      ],
    },
  },
  {
    // Domain libraries are pure: no gRPC, SQLite, libsodium, filesystem or network (DESIGN.md §3).
    files: [
      'libs/model/src/**/*.ts',
      'libs/query/src/**/*.ts',
      'libs/sdc/src/**/*.ts',
      'libs/dp/src/**/*.ts',
      'libs/glm/src/**/*.ts',
      'libs/synth/src/**/*.ts',
      'libs/transparency/src/**/*.ts',
      'libs/governance/src/**/*.ts',
      'libs/secagg/src/**/*.ts',
      'libs/linkage/src/**/*.ts',
      'libs/study/src/**/*.ts',
      'libs/evaluation/src/**/*.ts',
      'libs/psi/src/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['@grpc/grpc-js', 'better-sqlite3', 'libsodium-wrappers-sumo', 'node:net', 'node:http', 'node:fs'],
          patterns: ['@grpc/*', '@fedlab/store', '@fedlab/crypto', '@fedlab/proto', '@fedlab/wire'],
        },
      ],
    },
  },
);
