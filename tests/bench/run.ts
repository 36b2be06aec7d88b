// `npm run bench -- <name> [args]`: runs the benchmark module tests/bench/<name>.ts. Each module exports
// `run(args)` and prints one JSON line of figures per configuration it measures (DESIGN.md "Testing and measuring").
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchModule {
  run(args: readonly string[]): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

function available(): string[] {
  return readdirSync(here)
    .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
    .map((file) => file.slice(0, -'.ts'.length))
    .sort();
}

function isBenchModule(value: unknown): value is BenchModule {
  return typeof value === 'object' && value !== null && typeof (value as { run?: unknown }).run === 'function';
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  const names = available();
  if (name === undefined || !names.includes(name)) {
    console.error(`usage: npm run bench -- <name> [args]\nbenchmarks: ${names.join(', ')}`);
    return 2;
  }
  const module: unknown = await import(`./${name}.ts`);
  if (!isBenchModule(module)) {
    console.error(`tests/bench/${name}.ts does not export run(args)`);
    return 2;
  }
  await module.run(args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
