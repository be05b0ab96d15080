const fs = require('fs');
const name = process.env.INPUT_NAME;
console.log(`hello ${name}`);
fs.appendFileSync(process.env.GITHUB_OUTPUT, `said=hello ${name}\n`);
fs.appendFileSync(process.env.GITHUB_STATE, `started=yes\n`);
console.log('::notice::from node');
