/**
 * Workflow chaining (README, "`update-state`"): `process[1]`, forks and `chain_filter`, checked against the
 * reference behaviour of cirrus-geo (`ProcessPayload.next_payloads`, jsonpath-ng filters).
 */
import { ChainFilterError, compileChainFilter, filterFeatures, nextPayloads } from '../shared/chain';
import type { JsonObject, JsonValue } from '../shared/json';
import { chainPayloadOf, featureIds, sentinel2Payload } from './helpers/fixtures';

function testPayload(): JsonObject {
  return sentinel2Payload();
}

/** cirrus-geo's `chain_payload` fixture on the Sentinel-2 payload, by default with filter `@.id =~ 'fake*' & @.properties.gsd <= 0`. */
function chainPayload(filter = "@.id =~ 'fake*' & @.properties.gsd <= 0"): JsonObject {
  return chainPayloadOf(testPayload(), filter);
}

const ids = featureIds;

function filtered(expression: string, p: JsonObject = chainPayload()): string[] {
  return ids(filterFeatures(p.features as JsonValue[], expression));
}

describe('nextPayloads', () => {
  it('returns nothing when there is no next process definition', () => {
    expect(nextPayloads(testPayload())).toEqual([]);
  });

  it('returns one payload for one next definition, with process advanced and no id', () => {
    const p = testPayload();
    const p0 = (p.process as JsonObject[])[0];
    const p1 = { ...structuredClone(p0), workflow: 'second' };
    const p2 = { ...structuredClone(p0), workflow: 'third' };
    p.process = [p0, p1, p2];
    const next = nextPayloads(p);
    expect(next).toHaveLength(1);
    expect(next[0].process).toEqual([p1, p2]);
    expect(next[0]).not.toHaveProperty('id');
    expect(next[0].features).toEqual(p.features);
    expect(next[0].type).toBe('FeatureCollection');
  });

  it('forks into one payload per definition of a list in process[1]', () => {
    const p = testPayload();
    const p0 = (p.process as JsonObject[])[0];
    const a = { ...structuredClone(p0), workflow: 'fork-a' };
    const b = { ...structuredClone(p0), workflow: 'fork-b' };
    const after = { ...structuredClone(p0), workflow: 'after' };
    p.process = [p0, [a, b], after];
    const next = nextPayloads(p);
    expect(next.map((n) => n.process)).toEqual([
      [a, after],
      [b, after],
    ]);
    for (const n of next) expect(n).not.toHaveProperty('id');
  });

  it('leaves the original payload unchanged (deep copy)', () => {
    const p = testPayload();
    const p0 = (p.process as JsonObject[])[0];
    p.process = [p0, { ...structuredClone(p0), workflow: 'second' }];
    const before = structuredClone(p);
    const [next] = nextPayloads(p);
    ((next.features as JsonObject[])[0].properties as JsonObject).gsd = 99;
    ((next.process as JsonObject[])[0].upload_options as JsonObject).public_assets = 'NONE';
    expect(p).toEqual(before);
  });

  it("applies chain_filter \"@.id =~ 'fake*' & @.properties.gsd <= 0\" (cirrus test_next_payloads_chain_filter)", () => {
    const p = chainPayload();
    const next = nextPayloads(p);
    expect(next).toHaveLength(1);
    // Cirrus's chain_filter_payload: only the last feature, the second process definition, no id.
    const expected = structuredClone(p);
    expected.features = [(p.features as JsonObject[])[3]];
    (expected.process as JsonValue[]).shift();
    delete expected.id;
    expect(next[0]).toEqual(expected);
    expect(ids(next[0].features as JsonValue[])).toEqual(['fake_id3']);
  });

  it('filters each fork with its own chain_filter', () => {
    const p = chainPayload();
    const [p0] = p.process as JsonObject[];
    p.process = [p0, [{ ...p0, chain_filter: "@.id == 'fake_id1'" }, { ...p0, chain_filter: '@.properties.gsd >= 2' }]];
    expect(nextPayloads(p).map((n) => ids(n.features as JsonValue[]))).toEqual([['fake_id1'], ['S2A_32TMT_20240721_0_L2A', 'fake_id1']]);
  });
});

describe('chain_filter expressions', () => {
  it('== compares strings', () => {
    expect(filtered("@.id == 'fake_id2'")).toEqual(['fake_id2']);
  });

  it('== compares numbers', () => {
    expect(filtered('@.properties.gsd == 1')).toEqual(['fake_id2']);
  });

  it('!= excludes a value', () => {
    expect(filtered("@.id != 'fake_id2'")).toEqual(['S2A_32TMT_20240721_0_L2A', 'fake_id1', 'fake_id3']);
  });

  it('<, <=, >, >= compare numbers', () => {
    expect(filtered('@.properties.gsd < 1')).toEqual(['fake_id3']);
    expect(filtered('@.properties.gsd <= 1')).toEqual(['fake_id2', 'fake_id3']);
    expect(filtered('@.properties.gsd > 2')).toEqual(['S2A_32TMT_20240721_0_L2A']);
    expect(filtered('@.properties.gsd >= 2.5')).toEqual(['S2A_32TMT_20240721_0_L2A']);
  });

  it('=~ searches a regular expression anywhere in the string (Python re.search)', () => {
    expect(filtered("@.id =~ 'id[12]'")).toEqual(['fake_id1', 'fake_id2']);
    expect(filtered("@.id =~ '^S2A'")).toEqual(['S2A_32TMT_20240721_0_L2A']);
  });

  it('& requires both sides', () => {
    expect(filtered("@.id =~ 'fake' & @.properties.gsd >= 1")).toEqual(['fake_id1', 'fake_id2']);
  });

  it('| accepts either side', () => {
    expect(filtered('@.properties.gsd == 0 | @.properties.gsd == 3')).toEqual(['S2A_32TMT_20240721_0_L2A', 'fake_id3']);
  });

  it('& binds tighter than |, and parentheses group', () => {
    expect(filtered("@.properties.gsd == 3 | @.properties.gsd == 0 & @.id =~ 'nomatch'")).toEqual(['S2A_32TMT_20240721_0_L2A']);
    expect(filtered("(@.properties.gsd == 3 | @.properties.gsd == 0) & @.id =~ 'nomatch'")).toEqual([]);
    expect(filtered("(@.properties.gsd == 3 | @.properties.gsd == 0) & @.id =~ 'fake'")).toEqual(['fake_id3']);
  });

  it("reads quoted keys such as @.properties['eo:cloud_cover'] < 10", () => {
    const p = chainPayload();
    (p.features as JsonObject[]).forEach((f, i) => {
      (f.properties as JsonObject)['eo:cloud_cover'] = [51.56, 5, 20, 9.99][i];
    });
    expect(filtered("@.properties['eo:cloud_cover'] < 10", p)).toEqual(['fake_id1', 'fake_id3']);
    expect(filtered('@.properties["eo:cloud_cover"] >= 20', p)).toEqual(['S2A_32TMT_20240721_0_L2A', 'fake_id2']);
  });

  it('reads a colon key without quotes (@.properties.eo:cloud_cover)', () => {
    expect(filtered('@.properties.eo:cloud_cover > 10')).toEqual(['S2A_32TMT_20240721_0_L2A', 'fake_id1', 'fake_id2', 'fake_id3']);
  });

  it('tests existence with a bare path and its negation with !', () => {
    const p = chainPayload();
    (p.features as JsonObject[])[2].properties = { ...((p.features as JsonObject[])[2].properties as JsonObject), special: true };
    expect(filtered('@.properties.special', p)).toEqual(['fake_id2']);
    expect(filtered('!@.properties.special', p)).toEqual(['S2A_32TMT_20240721_0_L2A', 'fake_id1', 'fake_id3']);
  });

  it('indexes arrays', () => {
    expect(filtered("@.properties.instruments[0] == 'msi'")).toHaveLength(4);
    expect(filtered("@.properties.instruments[1] == 'msi'")).toEqual([]);
  });

  it('a comparison with a missing field is false', () => {
    expect(filtered('@.properties.nothing < 100')).toEqual([]);
    expect(filtered("@.properties.nothing != 'x'")).toEqual([]);
  });

  it('compileChainFilter returns a reusable predicate', () => {
    const pass = compileChainFilter("@.id == 'a'");
    expect(pass({ id: 'a' })).toBe(true);
    expect(pass({ id: 'b' })).toBe(false);
  });
});

describe('malformed chain_filter → ChainFilterError', () => {
  it.each([
    ['@.id =='],
    ["@.id == 'unterminated"],
    ["(@.id == 'a'"],
    ["@.id == 'a')"],
    ["@.id == 'a' 'b'"],
    ['@.id # 1'],
    ['@.'],
    ['@.id[x]'],
    ['& @.id'],
  ])('rejects %j', (expression) => {
    let err: unknown;
    try {
      compileChainFilter(expression);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChainFilterError);
    expect((err as Error).name).toBe('ChainFilterError');
  });

  it('rejects an invalid regular expression when a feature is tested', () => {
    expect(() => filtered("@.id =~ '('")).toThrow(ChainFilterError);
  });

  it('fails nextPayloads on a malformed chain_filter in process[1]', () => {
    expect(() => nextPayloads(chainPayload("@.id == 'x' &"))).toThrow(ChainFilterError);
  });
});

describe('chain_filter =~ on RE2 (linear-time matching)', () => {
  it("matches anywhere in the string, as Python's re.search", () => {
    expect(filterFeatures([{ id: 'xSWEy' }, { id: 'abc' }], "@.id =~ 'SWE'")).toEqual([{ id: 'xSWEy' }]);
  });

  it("answers a catastrophic-backtracking pattern on 40 'a' + '!' without backtracking", () => {
    expect(filterFeatures([{ id: `${'a'.repeat(40)}!` }], "@.id =~ '^(a+)+$'")).toEqual([]);
  });

  it('refuses a pattern RE2 cannot compile with a ChainFilterError', () => {
    expect(() => filterFeatures([{ id: 'a' }], "@.id =~ '(?<=a)b'")).toThrow(ChainFilterError);
  });
});
