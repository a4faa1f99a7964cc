// What a new user sees first: every command's --help (once, unwrapped examples, no SPEC jargon)
// and a misspelt command answered with a suggestion.
import t from 'tap';
import { COMMANDS } from '../../src/main/cli/main.js';
import { errorLines, runRecur } from '../helpers/cli.js';

const names = COMMANDS.map((c) => c.command.split(' ')[0]!);

t.test('every command has --help: exit 0, --help listed once, examples each on one line', async (t) => {
  t.same(names, ['train', 'eval', 'predict', 'sample', 'export', 'serve-example', 'sweep', 'agent', 'bench', 'board']);
  for (const name of names) {
    const r = await runRecur([name, '--help']);
    t.equal(r.code, 0, `${name} --help exits 0`);
    t.equal(r.stdout.match(/--help\b/g)?.length, 1, `${name} --help lists --help once`);
    t.notMatch(r.stdout, /SPEC/, `${name} --help does not cite the SPEC`);
    const examples = r.stdout.split('Examples:')[1];
    t.ok(examples, `${name} --help has examples`);
    const lines = examples!.split('\n').filter((l) => l.trim() !== '');
    t.ok(lines.length > 0 && lines.every((l) => l.startsWith(`  recur ${name}`)), `${name}: every example line is a whole command (no mid-word wrap)`);
  }
});

t.test('recur --help lists every command', async (t) => {
  const r = await runRecur(['--help']);
  t.equal(r.code, 0);
  for (const name of names) t.match(r.stdout, new RegExp(`^  recur ${name}\\b`, 'm'), name);
});

t.test('a misspelt command gets "did you mean", an unknown one the list, both exit 2', async (t) => {
  const typo = await runRecur(['trian']);
  t.equal(typo.code, 2);
  t.same(errorLines(typo.stderr), ["error: command line: unknown command 'trian' (did you mean 'train'?)"]);
  const unknown = await runRecur(['frobnicate']);
  t.equal(unknown.code, 2);
  t.same(errorLines(unknown.stderr), ["error: command line: unknown command 'frobnicate'; the commands are train, eval, predict, sample, export, serve-example, sweep, agent, bench, board"]);
});

t.test("every command's --help documents each of its flags", async (t) => {
  const flags: Record<string, string[]> = {
    train: ['--set', '--workers', '--out', '--resume'],
    eval: ['--checkpoint', '--data', '--seq-len', '--workers'],
    predict: ['--checkpoint', '--data', '--out'],
    sample: ['--checkpoint', '--length', '--temperature', '--prime', '--seed'],
    export: ['--checkpoint', '--format', '--out'],
    'serve-example': ['--port', '--host'],
    sweep: ['--parallel', '--out', '--queue'],
    agent: ['--queue', '--workers', '--once', '--out'],
    bench: ['--workloads', '--workers', '--cell', '--kernels', '--steps', '--seconds', '--json', '--svg'],
    board: ['--port', '--host'],
  };
  t.same(Object.keys(flags), names, 'every command');
  const helps = await Promise.all(names.map((name) => runRecur([name, '--help'])));
  names.forEach((name, i) => {
    const options = helps[i]!.stdout.split('Options:')[1]?.split('Examples:')[0] ?? '';
    for (const flag of flags[name]!) t.match(options, new RegExp(`^  ${flag}\\s+\\S`, 'm'), `${name} --help describes ${flag}`);
  });
});
