'use strict';
// The build step: copies the sources to dist/ and stamps them with the version, the shape a
// TypeScript or bundler build would have, without needing either.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
fs.cpSync(path.join(root, 'src'), dist, { recursive: true });
const { version } = require(path.join(root, 'package.json'));
fs.writeFileSync(path.join(dist, 'BUILD'), `hello ${version}\n`);
console.log(`built hello ${version} into dist/`);
