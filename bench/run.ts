/**
 * `npm run bench` prints a table; `npm run bench -- --json` prints one JSON object per line.
 * `--only <substring>` runs the suites whose name contains it.
 */
import { codingSuite } from './coding.ts';
import { framingSuite } from './framing.ts';
import { transportSuite } from './transport.ts';
import { entropySuite } from './entropy.ts';
import { sessionSuite } from './session.ts';
import { cloudSuite } from './cloud.ts';
import { labSuite } from './lab.ts';
import { formatValue, goalMet, type Metric, type Suite } from './harness.ts';

const suites: Suite[] = [codingSuite, framingSuite, transportSuite, entropySuite, cloudSuite, sessionSuite, labSuite];

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;

const metrics: Metric[] = [];
for (const suite of suites) {
  if (only && !suite.name.includes(only)) continue;
  if (!json) process.stderr.write(`running ${suite.name}…\n`);
  await suite.run((m) => {
    metrics.push(m);
    if (json) process.stdout.write(`${JSON.stringify({ name: m.name, value: m.value, unit: m.unit })}\n`);
  });
}

if (!json) {
  const rows = metrics.map((m) => {
    const met = goalMet(m);
    const goal = m.goal ? `${m.goal.op} ${formatValue(m.goal.value)} ${met ? '✓' : '✗'}` : '';
    return [m.name, formatValue(m.value), m.unit, goal, m.note ?? ''];
  });
  const header = ['metric', 'value', 'unit', 'goal', 'how'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  const failed = metrics.filter((m) => goalMet(m) === false);
  if (failed.length > 0) console.log(`\n${failed.length} goal(s) not met: ${failed.map((m) => m.name).join(', ')}`);
}
