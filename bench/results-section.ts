import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// What every benchmark does with its figures: its own section of bench/results/README.md, between its markers,
// replaced in place on each run; and when a benchmark file is run directly, run it and record it.

export async function replaceResultsSection(
  resultsDir: string,
  markStart: string,
  markEnd: string,
  section: string,
): Promise<void> {
  const readme = path.join(resultsDir, 'README.md');
  let text = '';
  try {
    text = await readFile(readme, 'utf8');
  } catch {
    text = '# Benchmark results\n';
  }
  const start = text.indexOf(markStart);
  const end = text.indexOf(markEnd);
  text =
    start >= 0 && end > start
      ? `${text.slice(0, start)}${section}${text.slice(end + markEnd.length)}`
      : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(readme, text);
}

/** Runs and records the benchmark when its file is the one node was started with (not when run-all imports it). */
export async function runIfMain<R>(
  moduleUrl: string,
  run: () => Promise<R>,
  writeResults: (result: R) => Promise<void>,
): Promise<void> {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  const result = await run();
  await writeResults(result);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  // Clients and servers a benchmark started may keep handles open; the figures are written.
  process.exit(0);
}
