#!/usr/bin/env node
// Runs a TypeScript file of this repository (with path aliases) through tsx: `node bin/run-ts.js FILE [args]`.
'use strict';
const path = require('node:path');
const root = path.resolve(__dirname, '..');
process.env.TSX_TSCONFIG_PATH = path.join(root, 'tsconfig.json');
require('tsx/cjs');
const file = process.argv[2];
process.argv.splice(1, 2, path.resolve(file));
require(path.resolve(file));
