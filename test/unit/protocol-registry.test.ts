/**
 * The registry of protocol descriptors is the one list of protocols: every other list (names,
 * URL schemes, lab kinds, limit profiles, lab packages) is derived from it, and each descriptor
 * is consistent with itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DESCRIPTORS, LAB_KINDS, PROTOCOLS, URL_SCHEMES, descriptorOf, labServerOf, schemeOf } from '../../src/protocols/registry.js';
import { BUILT_IN_PROFILES } from '../../src/scenarios/limits.js';
import { TARGET_URL_PATTERN } from '../../src/scenarios/schema.js';
import { parseTargetUrl, toAgentTarget } from '../../src/scenarios/target.js';
import { METRICS, isThresholdMetric } from '../../src/protocols/metric-registry.js';
import { metricOf } from '../../src/metrics/threshold-grammar.js';
import { RoleProfiles } from '../../src/capacity/plan-input.js';
import { LAB_PACKAGES } from '../../src/commands/lab.js';
import { MODELLED_PROTOCOLS, byteModelFor } from '../../src/analysis/simulate-bytes.js';

const unique = (list: readonly string[]) => new Set(list).size === list.length;

test('names, schemes, lab kinds and limit profiles are derived from the descriptors and unique', () => {
  assert.deepEqual(PROTOCOLS, DESCRIPTORS.map((d) => d.name));
  assert.ok(unique(PROTOCOLS));
  assert.ok(unique(URL_SCHEMES.map((s) => s.scheme)), 'a URL scheme belongs to one protocol');
  assert.ok(unique(LAB_KINDS), 'a lab kind belongs to one protocol');
  const profileNames = DESCRIPTORS.flatMap((d) => Object.keys(d.limitProfiles));
  assert.ok(unique(profileNames), 'a limit profile belongs to one protocol');
  assert.deepEqual(Object.keys(BUILT_IN_PROFILES).sort(), [...profileNames].sort());
  for (const d of DESCRIPTORS) {
    for (const name of Object.keys(d.limitProfiles)) assert.equal(BUILT_IN_PROFILES[name]!.protocol, d.name, name);
    for (const kind of d.lab) assert.equal(labServerOf(kind.kind)?.protocol, d, kind.kind);
    for (const scheme of d.schemes) assert.equal(schemeOf(scheme.scheme)?.protocol, d, scheme.scheme);
  }
  assert.deepEqual([...MODELLED_PROTOCOLS], [...PROTOCOLS]);
});

test('each descriptor is consistent: schemes parse, transports default, byte model, plan role, limits it can measure', () => {
  for (const d of DESCRIPTORS) {
    assert.ok(d.schemes.some((s) => !s.tls) && d.schemes.some((s) => s.tls), `${d.name}: a plain and a TLS scheme`);
    assert.ok(d.transports.length > 0 && !d.transports.includes('tls'), `${d.name}: TLS comes from the scheme`);
    for (const scheme of d.schemes) {
      const url = `${scheme.scheme}://127.0.0.1`;
      assert.match(url, TARGET_URL_PATTERN);
      assert.deepEqual(parseTargetUrl(url), { protocol: d.name, host: '127.0.0.1', port: scheme.defaultPort, tls: scheme.tls });
      const target = toAgentTarget('t', { url, options: {} });
      assert.equal(target.transport, scheme.tls ? 'tls' : d.transports[0]);
    }
    assert.equal(d.byteModel.protocol, d.name);
    assert.equal(byteModelFor(d.name), d.byteModel);
    assert.equal(d.byteModel.channels, d.capabilities.channels, `${d.name}: byte model and capabilities agree on channels`);
    assert.equal(d.byteModel.presence, d.capabilities.presence, `${d.name}: byte model and capabilities agree on presence`);
    if (d.planRole !== undefined) assert.ok(d.planRole in RoleProfiles.shape && d.planRole !== 'bandwidth', `${d.name}: plan role ${d.planRole}`);
    for (const [name, profile] of Object.entries(d.limitProfiles)) {
      for (const figure of profile.figures) {
        assert.ok(isThresholdMetric(figure.metric), `${name}: ${figure.metric}`);
        const metric = metricOf(METRICS, figure.metric)!;
        assert.ok(METRICS.produces(metric, d.name), `${name}: ${d.name} never measures ${metric.name}`);
      }
    }
    // Options are strict: an unknown key is refused, the empty map is accepted.
    assert.equal(d.options.safeParse({}).success, true, d.name);
    assert.equal(d.options.safeParse({ noSuchOption: 1 }).success, false, d.name);
    for (const kind of d.lab) {
      assert.ok(kind.transports.length > 0, kind.kind);
      for (const pkg of kind.packages) assert.ok(LAB_PACKAGES.includes(pkg), `imload lab install installs ${pkg}`);
    }
  }
  assert.equal(descriptorOf('no-such-protocol'), undefined);
});

test('lab install keeps the packages the lab itself needs besides the protocol servers', () => {
  for (const pkg of ['openssl', 'ca-certificates', 'chromium', 'iproute2']) assert.ok(LAB_PACKAGES.includes(pkg), pkg);
  assert.ok(unique(LAB_PACKAGES));
});

test("the package's description names every protocol in the registry (npm search shows it; the CLI's help builds its own from the titles)", () => {
  const { description } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { description: string };
  const missing = DESCRIPTORS.filter((d) => !new RegExp(`\\b${d.name}\\b`, 'i').test(description)).map((d) => d.name);
  assert.deepEqual(missing, [], `package.json's description: ${description}`);
});
