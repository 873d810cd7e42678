// Runs the main job on the bundled sample: prints the plan (tensor diff) of the tiny Qwen3.5-MoE
// checkpoint, then writes the defused copy to demo-output/ and lists its header.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const cli = path.join(root, 'dist', 'cli.js');
const sample = path.join(root, 'samples', 'qwen3_5_moe-tiny');
const output = path.join(root, 'demo-output', 'qwen3_5_moe-tiny-defused');

function run(args) {
  process.stdout.write(`\n$ defuser ${args.map((arg) => (arg.includes(' ') ? JSON.stringify(arg) : arg)).join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(['plan', path.relative(process.cwd(), sample)]);
run(['convert', path.relative(process.cwd(), sample), '--out', path.relative(process.cwd(), output), '--overwrite', '--verify']);
run(['inspect', path.join(path.relative(process.cwd(), output), 'model.safetensors')]);
