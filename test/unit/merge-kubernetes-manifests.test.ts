/**
 * deploy/kubernetes cannot run here, so: every manifest is validated against the Kubernetes
 * OpenAPI schema (kubernetes-models), the pieces are checked to fit together (segment count,
 * volume, ConfigMap, Secret, run name), and the generator and merge-wait shell scripts are run
 * for real with `sh`, a stand-in `node` and a temp folder in place of the shared volume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, PersistentVolumeClaim, Secret } from 'kubernetes-models/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { loadScenarioFile } from '../../src/scenarios/load.js';

const DIR = 'deploy/kubernetes';
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'batch/v1/Job': Job,
};

type Manifest = { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, any>;

function manifests(): Map<string, Manifest> {
  const out = new Map<string, Manifest>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], file);
      const m = doc.toJS() as Manifest;
      out.set(`${m.kind}/${m.metadata.name}`, { ...m, file });
    }
  }
  return out;
}

const all = manifests();
const get = (key: string) => {
  const m = all.get(key);
  assert.ok(m, `${key} is defined in ${DIR}`);
  return m;
};
const generators = get('Job/imload-generators');
const merge = get('Job/imload-merge');
const envOf = (container: any) => Object.fromEntries((container.env as any[]).map((e) => [e.name, e.value ?? e.valueFrom]));
const generatorEnv = envOf(generators.spec.template.spec.containers[0]);

test('every manifest is valid against the Kubernetes schema', () => {
  assert.ok(all.size >= 5);
  for (const [key, manifest] of all) {
    const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    assert.ok(Model, `${key}: ${manifest.apiVersion} ${manifest.kind} is not one of the kinds this deployment uses`);
    const { file: _file, ...data } = manifest;
    assert.doesNotThrow(() => new Model(data as never).validate(), `${key} (${manifest.file})`);
  }
  // The check can fail: a Job without a container name is rejected.
  const broken = structuredClone(generators);
  delete broken.file;
  delete broken.spec.template.spec.containers[0].name;
  assert.throws(() => new Job(broken).validate(), /name/);
});

test('kustomization lists every manifest', () => {
  const kustomization = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
  assert.deepEqual([...kustomization.resources].sort(), [...new Set([...all.values()].map((m) => m.file as string))].sort());
});

test('generators: an Indexed Job of N segments all running at once, segment = index + 1', () => {
  const spec = generators.spec;
  const segments = Number(generatorEnv.IMLOAD_SEGMENTS);
  assert.equal(spec.completionMode, 'Indexed');
  assert.equal(spec.completions, segments, 'IMLOAD_SEGMENTS = completions');
  assert.equal(spec.parallelism, segments, 'every segment runs at the same time');
  assert.equal(spec.template.spec.restartPolicy, 'Never');
  const script = spec.template.spec.containers[0].args[0] as string;
  assert.match(script, /seg=\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)/);
  assert.match(script, /--segment "\$seg\/\$IMLOAD_SEGMENTS"/);
  assert.match(script, /--allow-remote/);
});

test('generators and merge share the volume, the run name and the segment count; config and secret exist', () => {
  const claim = (job: Manifest) => job.spec.template.spec.volumes.find((v: any) => v.persistentVolumeClaim).persistentVolumeClaim.claimName;
  get(`PersistentVolumeClaim/${claim(generators)}`);
  assert.equal(claim(merge), claim(generators));
  assert.ok(get(`PersistentVolumeClaim/${claim(generators)}`).spec.accessModes.includes('ReadWriteMany'), 'pods on several nodes write to it');
  const mergeEnv = envOf(merge.spec.template.spec.containers[0]);
  const waitEnv = envOf(merge.spec.template.spec.initContainers[0]);
  assert.equal(mergeEnv.IMLOAD_RUN, generatorEnv.IMLOAD_RUN);
  assert.equal(waitEnv.IMLOAD_RUN, generatorEnv.IMLOAD_RUN);
  assert.equal(waitEnv.IMLOAD_SEGMENTS, generatorEnv.IMLOAD_SEGMENTS);

  const configName = generators.spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name;
  const scenarios = get(`ConfigMap/${configName}`).data['scenarios.yaml'] as string;
  const file = join(mkdtempSync(join(tmpdir(), 'imload-k8s-')), 'scenarios.yaml');
  writeFileSync(file, scenarios);
  const { config } = loadScenarioFile(file);
  const scenario = config.scenarios[generatorEnv.IMLOAD_SCENARIO];
  assert.ok(scenario, `the ConfigMap has scenario ${generatorEnv.IMLOAD_SCENARIO}`);
  const targetName = String(generatorEnv.IMLOAD_TARGET).split('=')[0]!;
  assert.equal(scenario.target, targetName, '--target points the scenario’s own target elsewhere');
  assert.deepEqual(config.targets[targetName]?.password, { env: 'IMLOAD_PASSWORD' });

  const secretRef = generatorEnv.IMLOAD_PASSWORD.secretKeyRef;
  assert.ok(get(`Secret/${secretRef.name}`).stringData[secretRef.key] !== undefined, 'the Secret has the key the Job reads');
});

/** Runs a manifest's shell script with the shared volume at `volume` and a stand-in `node` first on PATH. */
function runScript(script: string, volume: string, bin: string, env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script.replaceAll('/journals', volume)], { env: { ...env, PATH: `${bin}:/usr/bin:/bin` }, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

test('the generator script waits for all segments, runs i/N, and the merge wait sees them done', async () => {
  const volume = mkdtempSync(join(tmpdir(), 'imload-k8s-volume-'));
  const bin = mkdtempSync(join(tmpdir(), 'imload-k8s-bin-'));
  // The stand-in records its arguments and exits 99, as a segment whose thresholds failed does.
  writeFileSync(join(bin, 'node'), `#!/bin/sh\necho "$@" >> "${volume}/calls"\nexit 99\n`);
  chmodSync(join(bin, 'node'), 0o755);
  const segments = Number(generatorEnv.IMLOAD_SEGMENTS);
  const script = generators.spec.template.spec.containers[0].args[0] as string;
  const env = { IMLOAD_SEGMENTS: String(segments), IMLOAD_RUN: 'r1', IMLOAD_SCENARIO: 's', IMLOAD_TARGET: 'chat=irc://x:6667' };
  const codes = await Promise.all(Array.from({ length: segments }, (_, k) => runScript(script, volume, bin, { ...env, JOB_COMPLETION_INDEX: String(k) })));
  assert.deepEqual(codes, Array(segments).fill(0), 'exit 99 of a segment alone counts as done');
  const calls = readFileSync(join(volume, 'calls'), 'utf8').trim().split('\n').sort();
  assert.equal(calls.length, segments);
  calls.forEach((call, k) => assert.match(call, new RegExp(`--segment ${k + 1}/${segments} .*--out ${volume}/r1/seg${k + 1}`)));

  const wait = merge.spec.template.spec.initContainers[0].args[0] as string;
  assert.equal(await runScript(wait, volume, bin, { IMLOAD_SEGMENTS: String(segments), IMLOAD_RUN: 'r1' }), 0);
  // Another run where segment 2 failed: the wait gives up at once instead of waiting 2 hours.
  mkdirSync(join(volume, 'r2'));
  writeFileSync(join(volume, 'r2', 'done-1'), '');
  writeFileSync(join(volume, 'r2', 'failed-2'), '');
  assert.equal(await runScript(wait, volume, bin, { IMLOAD_SEGMENTS: '2', IMLOAD_RUN: 'r2' }), 3);
});
