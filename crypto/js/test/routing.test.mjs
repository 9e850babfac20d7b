// Routing must agree with crypto/routing.py case for case (crypto/vectors/routing.json, FORMAT.md §14).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { CATEGORIES, checkChannels, place } from "../src/routing.js";
import { NoChannel, RoutingError, route } from "../src/sealer.js";
import { ROOT, loadVectors } from "./support.mjs";

const V = loadVectors("routing");
const ERRORS = { RoutingError, NoChannel };

// Every province and kabupaten/kota code, as crypto/regions.py reads them.
const csvCodes = (name) =>
  readFileSync(join(ROOT, "crypto", "data", "regions", name), "utf8").trim().split("\n").slice(1).map((l) => l.split(",")[0]);
const KNOWN = new Set([...csvCodes("provinces.csv"), ...csvCodes("regencies.csv")]);

const channelsOf = (c) => structuredClone(typeof c.channels === "string" ? V.channels[c.channels] : c.channels);
const ids = (r) => ({ lead: r.lead.id, readers: r.readers.map((c) => c.id) });

test("the JS category list is crypto/vocabulary.py's", () => {
  assert.deepEqual([...CATEGORIES], V.categories);
});

for (const c of V.cases) {
  test(`vector: ${c.name}`, () => {
    const call = (channels) => route(channels, c.province, c.regency, c.category, { knownRegions: KNOWN });
    if (c.error) {
      assert.throws(() => call(channelsOf(c)), (err) => err instanceof ERRORS[c.error] && err.name === c.error);
      return;
    }
    assert.deepEqual(ids(call(channelsOf(c))), { lead: c.lead, readers: c.readers });
    assert.deepEqual(ids(call(channelsOf(c).reverse())), { lead: c.lead, readers: c.readers }, "listed order");
  });
}

test("route returns the caller's channel objects", () => {
  const channels = channelsOf({ channels: "seed" });
  const result = route(channels, "35", "35.72", null);
  assert.equal(result.lead, channels[0]);
  assert.ok(result.readers.every((r) => channels.includes(r)));
});

test("without knownRegions only the shape of a region code is checked", () => {
  const channels = channelsOf({ channels: "seed" });
  assert.equal(route(channels, "99", undefined, undefined).lead.id, "umum");
  assert.throws(() => route(channels, "99", null, null, { knownRegions: KNOWN }), /unknown province code "99"/);
  assert.throws(() => route(channels, "3", null, null), RoutingError);
  assert.throws(() => place("17", "35.72", null), /is not in province/);
  assert.deepEqual(place("", "35.72", ""), { province: "35", regency: "35.72", category: null });
});

test("channel sets are checked", () => {
  assert.throws(() => checkChannels([{ id: "a" }, { id: "b" }]), /more than one catch-all channel: a, b/);
  assert.throws(() => checkChannels([{ id: "a", regions: "35" }]), /must be a list/);
  assert.throws(() => checkChannels("nope"), RoutingError);
  assert.throws(() => route([], null, null, null), NoChannel);
});
