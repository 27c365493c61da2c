#!/usr/bin/env node
// Entry point for `npx fedlab`: runs the TypeScript CLI through tsx with the monorepo's path aliases.
'use strict';
const path = require('node:path');
const root = path.resolve(__dirname, '..');
process.env.TSX_TSCONFIG_PATH = path.join(root, 'tsconfig.json');
require('tsx/cjs');
require(path.join(root, 'apps/cli/src/main.ts'));
