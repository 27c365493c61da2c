#!/usr/bin/env node
// Entry point for `fedlab` in a checkout (npm run demo, npx fedlab inside the repository): runs the
// TypeScript apps through tsx with the monorepo's path aliases. `node serve` and `coordinator serve`
// are the daemon apps (apps/node, apps/coordinator); every other command is the CLI (apps/cli). The
// installed release does the same from one bundled file (bin/fedlab-release.ts).
'use strict';
const path = require('node:path');
const root = path.resolve(__dirname, '..');
process.env.TSX_TSCONFIG_PATH = path.join(root, 'tsconfig.json');
require('tsx/cjs');
const [first, second] = process.argv.slice(2);
const app = first === 'node' && second === 'serve' ? 'apps/node' : first === 'coordinator' && second === 'serve' ? 'apps/coordinator' : 'apps/cli';
require(path.join(root, app, 'src/main.ts'));
