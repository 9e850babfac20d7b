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

// X25519 only. age-encryption's post-quantum (ML-KEM hybrid) and P-256 tag recipients import
// @noble/post-quantum and @noble/curves/nist: about half the bundle, which every source downloads
// over Tor and Tor Browser "Safer" parses without a JIT, yet tipbox never calls it (FORMAT.md §1.1:
// X25519 stanzas only; sealer.js refuses other recipients before age sees them, and every identity
// the page opens with is a receipt-derived X25519 one). Those two imports resolve to modules whose
// every use throws; age-encryption's own code, and every other module, is bundled unchanged, and
// leftOutOnlyThroughStubs() proves that nothing else dropped out of the bundle.
const LEFT_OUT = {
  "@noble/post-quantum/hybrid.js": ["MLKEM768P256", "MLKEM768X25519"],
  "@noble/curves/nist.js": ["p256"],
};

const x25519Only = {
  name: "tipbox-x25519-only",
  setup(b) {
    const names = Object.keys(LEFT_OUT).map((n) => n.replace(/[./]/g, "\\$&")).join("|");
    b.onResolve({ filter: new RegExp(`^(${names})$`) }, (args) => ({ path: args.path, namespace: "left-out" }));
    b.onLoad({ filter: /.*/, namespace: "left-out" }, (args) => ({
      loader: "js",
      contents: [
        "const refuse = (name) => () => {",
        "  throw new Error(`${name} is not in tipbox's sealer: it seals to X25519 recipients only`);",
        "};",
        "const leftOut = (name) => new Proxy(function () {}, { get: refuse(name), apply: refuse(name), construct: refuse(name) });",
        ...LEFT_OUT[args.path].map((name) => `export const ${name} = leftOut(${JSON.stringify(name)});`),
      ].join("\n"),
    }));
  },
};

const OPTIONS = {
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
};

/**
 * The modules the trimmed bundle left out must be exactly those the full bundle reaches only
 * through the stubbed imports: if age-encryption (or anything else) reached them another way,
 * stubbing would change a code path tipbox uses, and the build fails.
 */
function leftOutOnlyThroughStubs(full, trimmed) {
  const stubbed = new Set(Object.keys(LEFT_OUT));
  const graph = full.inputs;
  const entry = Object.keys(graph).find((path) => path.endsWith("crypto/js/src/sealer.js"));
  const reached = new Set();
  const visit = (path) => {
    if (reached.has(path)) return;
    reached.add(path);
    for (const edge of graph[path].imports) {
      if (!stubbed.has(edge.original) && !edge.external) visit(edge.path);
    }
  };
  visit(entry);
  const kept = new Set(Object.keys(trimmed.inputs).filter((path) => !path.startsWith("left-out:")));
  const differ = [...reached].filter((p) => !kept.has(p)).concat([...kept].filter((p) => !reached.has(p)));
  if (differ.length) throw new Error(`trimming changed more than the stubbed imports: ${differ.join(", ")}`);
  if (!Object.keys(graph).some((path) => path.includes("node_modules/age-encryption/dist/recipients.js"))) {
    throw new Error("age-encryption's layout changed: review the stubbed imports in crypto/js/build.mjs");
  }
}

export async function build() {
  const full = await esbuild.build(OPTIONS);
  const result = await esbuild.build({ ...OPTIONS, plugins: [x25519Only] });
  leftOutOnlyThroughStubs(full.metafile, result.metafile);
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
