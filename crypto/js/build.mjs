// Build the browser sealer bundle: crypto/js/src/sealer.js -> tipbox/static/js/sealer.js
//
//   node crypto/js/build.mjs           write the bundle
//   node crypto/js/build.mjs --check   fail if the committed bundle is not exactly what
//                                      this build produces, or if it uses WebAssembly
//
// The bundle is committed and served with SRI, so it must be byte-reproducible:
// pinned esbuild and dependencies, fixed options, paths relative to the repo
// root (never the caller's cwd), no sourcemap, no timestamps.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ENTRY = join(ROOT, "crypto", "js", "src", "sealer.js");
const OUT = join(ROOT, "tipbox", "static", "js", "sealer.js");
// Tor Browser "Safer" disables WebAssembly and the JIT: the sealer must not need either.
const FORBIDDEN = /webassembly|wasm/i;

// Full licence texts of every bundled package, deduplicated, appended as a
// comment: the minified bundle is a "binary form" under MIT and BSD-3-Clause.
function licenceAppendix(metafile) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
    if (match) packages.set(match[1], match[2]);
  }
  const byText = new Map();
  for (const [dir, name] of [...packages].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const meta = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8"));
    const text = readFileSync(join(ROOT, dir, "LICENSE"), "utf8").trim();
    if (text.includes("*/")) throw new Error(`${name}: licence text would end the comment`);
    if (!byText.has(text)) byText.set(text, []);
    byText.get(text).push(`${name}@${meta.version} (${meta.license})`);
  }
  const parts = [...byText].map(([text, names]) => `${names.join(", ")}:\n\n${text}`);
  return `/*\nThird-party software bundled in this file:\n\n${parts.join("\n\n----\n\n")}\n*/\n`;
}

export async function build() {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    outfile: OUT,
    write: false,
    bundle: true,
    format: "iife",
    globalName: "TipboxSealer",
    platform: "browser",
    target: "es2020",
    minify: true,
    legalComments: "eof",
    sourcemap: false,
    charset: "ascii",
    metafile: true,
    logLevel: "warning",
    banner: { js: "/* tipbox sealer: built by crypto/js/build.mjs from crypto/js/src/sealer.js; do not edit. */" },
  });
  const code = result.outputFiles[0].contents;
  const bundle = Buffer.concat([code, Buffer.from(licenceAppendix(result.metafile), "utf8")]);
  const hit = FORBIDDEN.exec(bundle.toString("latin1"));
  if (hit) throw new Error(`bundle mentions "${hit[0]}" at byte ${hit.index}: the sealer must not use WebAssembly`);
  return bundle;
}

async function main() {
  const bundle = await build();
  if (!process.argv.includes("--check")) {
    writeFileSync(OUT, bundle);
    console.log(`wrote ${OUT} (${bundle.length} bytes)`);
    return;
  }
  let committed = null;
  try {
    committed = readFileSync(OUT);
  } catch {
    // reported below
  }
  if (committed === null || !committed.equals(bundle)) {
    console.error(`${OUT} is ${committed === null ? "missing" : "out of date"}: run node crypto/js/build.mjs and commit it`);
    process.exit(1);
  }
  console.log(`${OUT} is up to date (${bundle.length} bytes)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(`build failed: ${err.message}`);
    process.exit(1);
  });
}
