/**
 * `npm run bench`: converts a generated checkpoint with real Qwen3.5-35B-A3B MoE shapes and compares the
 * throughput with `cp -r` of the same folder in the same run; measures the converter's peak RSS and the
 * planner's time on a 40-layer × 256-expert header. Prints a Markdown report and writes
 * `.bench/report.json`. Options: --layers N (1.5 GiB per layer, default 2), --rounds N (default 3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openCheckpoint, planDefusion, Planner } from '../../src';
import { writeBenchCheckpoint, writeSparseHeaderCheckpoint, writeTransposedBenchCheckpoint } from './generate';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_DIR = path.join(ROOT, '.bench');

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Drops the page cache so every timed run reads from disk; returns false where that is not permitted. */
function dropCaches(): boolean {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a command and samples its peak resident set (VmHWM, a high-water mark kept by the kernel) every
 * 20 ms until it exits. The last sample can miss growth in the final 20 ms of a run.
 */
function runMeasured(command: string, args: readonly string[]): Promise<{ seconds: number; peakRssBytes: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    let peak = 0;
    const sample = (): void => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const match = /VmHWM:\s+(\d+) kB/.exec(status);
        if (match) peak = Math.max(peak, Number(match[1]) * 1024);
      } catch {
        // The process has exited between samples.
      }
    };
    const timer = setInterval(sample, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr}`));
      else resolve({ seconds, peakRssBytes: peak });
    });
  });
}

async function timePlanner(): Promise<Record<string, number>> {
  const folder = path.join(BENCH_DIR, 'plan-40x256');
  if (!existsSync(path.join(folder, 'model.safetensors.index.json'))) await writeSparseHeaderCheckpoint(folder, 40);
  const openStart = performance.now();
  const checkpoint = await openCheckpoint(folder);
  const openMs = performance.now() - openStart;
  const rules = ['+:experts$', '-:layers\\.(1|3)\\d\\.', '+:^model\\.language_model\\.layers\\.\\K2\\d'];
  await planDefusion(checkpoint, { filter: rules });
  const fullTimes: number[] = [];
  const keystrokeTimes: number[] = [];
  let added = 0;
  const planner = new Planner(checkpoint);
  for (let round = 0; round < 15; round++) {
    const options = { filter: rules.slice(0, 1 + (round % 3)), maxLayers: round % 2 === 0 ? null : 30 };
    const start = performance.now();
    const plan = await planDefusion(checkpoint, options);
    fullTimes.push(performance.now() - start);
    added = Math.max(added, plan.added.length);
    // The panel's path: candidates found once, rules recompiled only when they change.
    const keystrokeStart = performance.now();
    await planner.plan(options);
    keystrokeTimes.push(performance.now() - keystrokeStart);
  }
  return { openMs, planMedianMs: median(fullTimes), planMaxMs: Math.max(...fullTimes), keystrokeMedianMs: median(keystrokeTimes), keystrokeMaxMs: Math.max(...keystrokeTimes), candidates: (await planner.plan()).candidates.length, addedTensors: added };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { layers: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
  const layers = Number(values.layers);
  const rounds = Number(values.rounds);
  const cli = path.join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error('dist/cli.js is missing; run "npm run build" first');
  await mkdir(BENCH_DIR, { recursive: true });

  const source = path.join(BENCH_DIR, `qwen3_5-a3b-${layers}layers`);
  const marker = path.join(source, '.complete');
  if (!existsSync(marker)) {
    process.stderr.write(`Generating ${layers} layer(s) of Qwen3.5-35B-A3B experts in ${source} ...\n`);
    await rm(source, { recursive: true, force: true });
    await writeBenchCheckpoint(source, layers);
    await writeFile(marker, '');
  }
  const sizeBytes = Number(spawnSync('du', ['-sb', source], { encoding: 'utf8' }).stdout.split('\t')[0]);

  process.stderr.write('Timing the planner on a 40-layer × 256-expert header ...\n');
  const planner = await timePlanner();

  const cpTimes: number[] = [];
  const defuserTimes: number[] = [];
  const peaks: number[] = [];
  let coldCache = true;
  for (let round = 0; round < rounds; round++) {
    for (const tool of ['cp', 'defuser'] as const) {
      const out = path.join(BENCH_DIR, `out-${tool}`);
      await rm(out, { recursive: true, force: true });
      coldCache = dropCaches() && coldCache;
      if (tool === 'cp') {
        // cp does not flush; syncing its files afterwards makes it pay for the writes as the converter does
        // (fsync per file). A global `sync` would also flush other processes' writes and penalise cp.
        const result = await runMeasured('sh', ['-c', `cp -r "${source}" "${out}" && find "${out}" -type f -exec sync {} +`]);
        cpTimes.push(result.seconds);
      } else {
        const result = await runMeasured(process.execPath, [cli, 'convert', source, '--out', out]);
        defuserTimes.push(result.seconds);
        peaks.push(result.peakRssBytes);
      }
      process.stderr.write(`round ${round + 1} ${tool}: ${(tool === 'cp' ? cpTimes : defuserTimes).at(-1)!.toFixed(2)} s\n`);
      await rm(out, { recursive: true, force: true });
    }
  }

  const copyMethod = process.env['DEFUSER_KERNEL_COPY'] === '0' || !existsSync(path.join(ROOT, 'dist', 'native', 'copy_range.node'))
    ? 'read and write (no copy_file_range addon, or DEFUSER_KERNEL_COPY=0)'
    : 'copy_file_range for contiguous runs';
  // The transposed layout (llama4) goes through the in-memory transpose instead of byte-range copies.
  const transposedSource = path.join(BENCH_DIR, 'llama4-4experts');
  if (!existsSync(path.join(transposedSource, '.complete'))) {
    process.stderr.write(`Generating a llama4-shaped layer in ${transposedSource} ...\n`);
    await rm(transposedSource, { recursive: true, force: true });
    await writeTransposedBenchCheckpoint(transposedSource, 4);
    await writeFile(path.join(transposedSource, '.complete'), '');
  }
  const transposedBytes = Number(spawnSync('du', ['-sb', transposedSource], { encoding: 'utf8' }).stdout.split('\t')[0]);
  const transposedTimes: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const out = path.join(BENCH_DIR, 'out-transposed');
    await rm(out, { recursive: true, force: true });
    dropCaches();
    const result = await runMeasured(process.execPath, [cli, 'convert', transposedSource, '--out', out]);
    transposedTimes.push(result.seconds);
    peaks.push(result.peakRssBytes);
    process.stderr.write(`round ${round + 1} defuser (transposed): ${result.seconds.toFixed(2)} s\n`);
    await rm(out, { recursive: true, force: true });
  }

  const cpSeconds = median(cpTimes);
  const defuserSeconds = median(defuserTimes);
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    checkpoint: { layers, bytes: sizeBytes, shape: 'hidden 2048, 256 experts, moe_intermediate 512, BF16' },
    pageCache: coldCache ? 'dropped before each run' : 'warm (could not drop caches)',
    rounds,
    copyMethod,
    cp: { medianSeconds: cpSeconds, runs: cpTimes, throughputMBps: sizeBytes / cpSeconds / 1e6 },
    defuser: { medianSeconds: defuserSeconds, runs: defuserTimes, throughputMBps: sizeBytes / defuserSeconds / 1e6, peakRssMB: Math.max(...peaks) / 1e6 },
    throughputRatio: cpSeconds / defuserSeconds,
    transposed: { bytes: transposedBytes, medianSeconds: median(transposedTimes), runs: transposedTimes, throughputMBps: transposedBytes / median(transposedTimes) / 1e6 },
    planner,
  };
  await writeFile(path.join(BENCH_DIR, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);

  const lines = [
    `# Benchmark ${report.date}`,
    '',
    `Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB RAM, Node ${report.machine.node}. Page cache: ${report.pageCache}.`,
    `Checkpoint: ${layers} Qwen3.5-35B-A3B MoE layer(s), ${(sizeBytes / 2 ** 30).toFixed(2)} GiB, ${report.checkpoint.shape}; median of ${rounds} rounds.`,
    `Converter copy method: ${copyMethod}. Each round runs cp, then defuser; the per-round times are in .bench/report.json.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| cp -r, then sync of its files | ${cpSeconds.toFixed(2)} s, ${report.cp.throughputMBps.toFixed(0)} MB/s | |`,
    `| defuser convert | ${defuserSeconds.toFixed(2)} s, ${report.defuser.throughputMBps.toFixed(0)} MB/s | |`,
    `| throughput ratio (defuser / cp) | ${report.throughputRatio.toFixed(2)} | ≥ 0.9 |`,
    `| defuser peak RSS (all runs) | ${report.defuser.peakRssMB.toFixed(0)} MB | ≤ 256 MB |`,
    `| defuser convert, llama4 transposed layer (${(transposedBytes / 2 ** 30).toFixed(2)} GiB) | ${report.transposed.medianSeconds.toFixed(2)} s, ${report.transposed.throughputMBps.toFixed(0)} MB/s | |`,
    `| open 40-layer header checkpoint | ${planner.openMs.toFixed(1)} ms | |`,
    `| plan 40 × 256 experts (compile rules + find + build), median / max | ${planner.planMedianMs.toFixed(1)} / ${planner.planMaxMs.toFixed(1)} ms (${planner.candidates} candidates, ${planner.addedTensors} added tensors) | well under 100 ms |`,
    `| re-plan on a rule edit (Planner, the panel's path), median / max | ${planner.keystrokeMedianMs.toFixed(1)} / ${planner.keystrokeMaxMs.toFixed(1)} ms | well under 100 ms |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
