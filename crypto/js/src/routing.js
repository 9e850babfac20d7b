// Routing a tip to channels: the JS twin of crypto/routing.py (crypto/FORMAT.md §14),
// pinned for both by crypto/vectors/routing.json. Pure: no clock, no randomness.
//
// A channel is { id, regions = [], categories = [], coordinating = false }. The
// most specific matching channel with a non-empty scope leads (region level,
// then category level, then lowest id); without one the catch-all leads (empty
// scope, not coordinating), else the lowest-id matching coordinating channel;
// every matching coordinating channel reads along. Callers pass only channels
// with at least one reviewer.
//
// The bundle carries no region table: region codes are checked for shape and,
// when `knownRegions` (a Set of province and kabupaten/kota codes, e.g. the
// form's <option> values) is given, for existence, as crypto/routing.py always
// does. The errors are not TipboxError subclasses (sealer.js imports this module,
// so this one cannot import sealer.js); catch RoutingError.

// crypto/vocabulary.py Category, in its order (routing.test.mjs compares them
// with crypto/vectors/routing.json, which generate.py writes from vocabulary.py).
export const CATEGORIES = Object.freeze([
  "ANAK-KS", "ANAK-DARING", "ANAK-ESKA", "ANAK-JUAL", "ANAK-EKO", "ANAK-KAWIN", "ANAK-KEKERASAN",
  "ANAK-TELANTAR", "TPPO-SEKS", "TPPO-KERJA", "TPPO-PMI", "TPPO-ORGAN", "LAIN",
]);
const CATEGORY_SET = new Set(CATEGORIES);
const PROVINCE = /^[0-9]{2}$/;
const REGENCY = /^[0-9]{2}\.[0-9]{2}$/;
// ASCII only, so "lowest id" orders the same as Python's str comparison.
const CHANNEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class RoutingError extends Error {
  constructor(message = "the tip cannot be routed to a channel") {
    super(message);
    this.name = "RoutingError";
  }
}

export class NoChannel extends RoutingError {
  constructor(message = "no channel receives this tip") {
    super(message);
    this.name = "NoChannel";
  }
}

const repr = (v) => JSON.stringify(v) ?? String(v);
const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const codeList = (v, what, id) => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) && !(v instanceof Set)) throw new RoutingError(`channel ${repr(id)}: ${what} must be a list`);
  return [...v];
};
const said = (v) => (v === undefined || v === null || v === "" ? null : v);

function isRegion(code, knownRegions) {
  if (typeof code !== "string" || !(PROVINCE.test(code) || REGENCY.test(code))) return false;
  return !knownRegions || knownRegions.has(code);
}

/** Validate a channel list (unique ASCII ids, known codes, at most one catch-all); returns normalised copies. */
export function checkChannels(channels, { knownRegions } = {}) {
  if (!Array.isArray(channels)) throw new RoutingError("channels must be a list");
  const seen = new Set();
  const catchAlls = [];
  const result = channels.map((channel) => {
    const { id } = channel;
    if (typeof id !== "string" || !CHANNEL_ID.test(id)) {
      throw new RoutingError(`channel id ${repr(id)} is not 1-64 ASCII letters, digits, '.', '_' or '-'`);
    }
    if (seen.has(id)) throw new RoutingError(`two channels have the id ${repr(id)}`);
    seen.add(id);
    const regions = new Set(codeList(channel.regions, "regions", id));
    const categories = new Set(codeList(channel.categories, "categories", id));
    for (const code of [...regions].sort()) {
      if (!isRegion(code, knownRegions)) throw new RoutingError(`channel ${repr(id)}: unknown region code ${repr(code)}`);
    }
    for (const code of [...categories].sort()) {
      if (!CATEGORY_SET.has(code)) throw new RoutingError(`channel ${repr(id)}: unknown category code ${repr(code)}`);
    }
    const coordinating = channel.coordinating === true;
    const empty = regions.size === 0 && categories.size === 0;
    if (empty && !coordinating) catchAlls.push(id);
    return { channel, id, regions, categories, coordinating, empty, catchAll: empty && !coordinating };
  });
  if (catchAlls.length > 1) throw new RoutingError(`more than one catch-all channel: ${catchAlls.sort().join(", ")}`);
  return result;
}

/** Validate and normalise a tip's answers (null, undefined and "" mean "not said"). */
export function place(province, regency, category, { knownRegions } = {}) {
  [province, regency, category] = [said(province), said(regency), said(category)];
  if (province !== null && !(typeof province === "string" && PROVINCE.test(province) && isRegion(province, knownRegions))) {
    throw new RoutingError(`unknown province code ${repr(province)}`);
  }
  if (regency !== null) {
    if (!(typeof regency === "string" && REGENCY.test(regency) && isRegion(regency, knownRegions))) {
      throw new RoutingError(`unknown kabupaten/kota code ${repr(regency)}`);
    }
    const implied = regency.slice(0, 2);
    if (province === null) province = implied;
    else if (province !== implied) {
      throw new RoutingError(`kabupaten/kota ${repr(regency)} is not in province ${repr(province)}`);
    }
  }
  if (category !== null && !CATEGORY_SET.has(category)) throw new RoutingError(`unknown category code ${repr(category)}`);
  return { province, regency, category };
}

// [region level, category level] of a match, or null when the scope does not contain the tip.
function specificity(c, tip) {
  let region;
  if (c.regions.size === 0) region = 0;
  else if (tip.regency !== null && c.regions.has(tip.regency)) region = 2;
  else if (tip.province !== null && c.regions.has(tip.province)) region = 1;
  else return null;
  let category;
  if (c.categories.size === 0) category = 0;
  else if (tip.category !== null && c.categories.has(tip.category)) category = 1;
  else return null;
  return [region, category];
}

const higher = (a, b) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

/**
 * The channels a tip goes to: { lead, readers } where lead is one of the given
 * channel objects and readers is the lead first, then the other readers by id.
 * Throws RoutingError for invalid input, NoChannel when nobody would receive it.
 */
export function route(channels, province, regency, category, { knownRegions } = {}) {
  const checked = checkChannels(channels, { knownRegions });
  const tip = place(province, regency, category, { knownRegions });
  const matches = [];
  for (const c of checked) {
    const level = specificity(c, tip);
    if (level !== null) matches.push({ c, level });
  }
  let lead = null;
  let best = null;
  for (const { c, level } of matches) {
    if (c.empty) continue;
    if (lead === null || higher(level, best) || (!higher(best, level) && byId(c, lead) < 0)) {
      lead = c;
      best = level;
    }
  }
  if (lead === null) lead = checked.find((c) => c.catchAll) ?? null;
  if (lead === null) {
    for (const { c } of matches) if (c.coordinating && (lead === null || byId(c, lead) < 0)) lead = c;
  }
  if (lead === null) throw new NoChannel("no channel receives this tip and there is no catch-all channel");
  const others = matches.map(({ c }) => c).filter((c) => c.coordinating && c.id !== lead.id).sort(byId);
  return { lead: lead.channel, readers: [lead, ...others].map((c) => c.channel) };
}
