// The README is a newcomer's page and docs/ the reference: the README stays short and starts
// with the two commands, every relative link and image in README.md and docs/*.md resolves (the
// file, and a `#heading` by GitHub's slug rules), and every `recur <command>` the README shows
// exists.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { REPO_ROOT, runRecur } from '../helpers/cli.js';

const README = path.join(REPO_ROOT, 'README.md');
const DOCS = path.join(REPO_ROOT, 'docs');
const README_MAX_CHARS = 15_000;

const markdownFiles = (): string[] => [
  README,
  ...fs.readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(DOCS, f)),
];

const FENCE = /^ {0,3}(```|~~~)/;

/** The text outside fenced code blocks, and the fenced blocks themselves. */
function splitFences(markdown: string): { prose: string; code: string[] } {
  const prose: string[] = [];
  const code: string[] = [];
  let block: string[] | null = null;
  for (const line of markdown.split('\n')) {
    if (FENCE.test(line)) {
      if (block === null) block = [];
      else { code.push(block.join('\n')); block = null; }
      prose.push('');
    } else if (block !== null) {
      block.push(line);
      prose.push('');
    } else {
      prose.push(line);
    }
  }
  return { prose: prose.join('\n'), code };
}

/** Prose without inline code spans, where `[x](y)` is an example, not a link. */
const withoutInlineCode = (prose: string): string => prose.replace(/(`+)[^`][\s\S]*?\1/g, ' ');

/** The targets of every inline link and image (`[text](target)`, `![alt](target "title")`). */
function linkTargets(markdown: string): string[] {
  const prose = withoutInlineCode(splitFences(markdown).prose);
  return [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** Heading anchors as GitHub makes them: rendered text, lower case, punctuation dropped, spaces → '-', repeats numbered. */
function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of splitFences(markdown).prose.split('\n')) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[`*~]/g, '')
      .replace(/<[^>]+>/g, '');
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

/** What is wrong with one link target of `from`, or null when it resolves. */
function brokenLink(from: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // https:, mailto: — not a file here
  const hash = target.indexOf('#');
  const file = decodeURI(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved = file === '' ? from : path.resolve(path.dirname(from), file);
  const inRepo = path.relative(REPO_ROOT, resolved);
  if (inRepo.startsWith('..') || path.isAbsolute(file)) return 'points outside the repository';
  if (!fs.existsSync(resolved)) return `${inRepo} does not exist`;
  if (anchor === null) return null;
  if (!resolved.endsWith('.md')) return `an anchor into ${inRepo}, which is not markdown`;
  if (!headingSlugs(fs.readFileSync(resolved, 'utf8')).has(anchor)) return `${inRepo} has no heading #${anchor}`;
  return null;
}

t.test(`README.md is at most ${README_MAX_CHARS} characters`, async (t) => {
  const chars = [...fs.readFileSync(README, 'utf8')].length;
  t.ok(chars <= README_MAX_CHARS, `README.md has ${chars} characters`);
});

t.test('the quick start is the two commands', async (t) => {
  const quickStart = fs.readFileSync(README, 'utf8').split(/^## /m).find((s) => s.startsWith('Quick start'));
  t.ok(quickStart, 'README.md has a Quick start section');
  t.same(splitFences(quickStart ?? '').code, ['npm install && npm start\nnpm test']);
});

t.test('heading slugs follow GitHub: code, emphasis and punctuation dropped, repeats numbered', async (t) => {
  const slugs = headingSlugs('# Your own data\n## `recur sweep` on a *queue*: 2 machines\n## Your own data\n```\n# not a heading\n```\n');
  t.same([...slugs], ['your-own-data', 'recur-sweep-on-a-queue-2-machines', 'your-own-data-1']);
  t.same(linkTargets('[a](x.md) ![b](y.svg "t") `[c](z.md)`\n```\n[d](w.md)\n```\n'), ['x.md', 'y.svg']);
});

t.test('every relative link and image in README.md and docs/*.md resolves', async (t) => {
  const files = markdownFiles();
  t.ok(files.length >= 9, `README.md and the docs (${files.length} files)`);
  let checked = 0;
  for (const file of files) {
    const name = path.relative(REPO_ROOT, file);
    const targets = linkTargets(fs.readFileSync(file, 'utf8'));
    for (const target of targets) {
      checked++;
      const problem = brokenLink(file, target);
      if (problem !== null) t.fail(`${name}: (${target}): ${problem}`);
    }
  }
  t.ok(checked >= 50, `${checked} links checked`);
});

t.test('every `recur <command>` in the README\'s code blocks and code spans is a command', async (t) => {
  const { prose, code } = splitFences(fs.readFileSync(README, 'utf8'));
  const spans = [...prose.matchAll(/(`+)([^`][\s\S]*?)\1/g)].map((m) => m[2]!);
  // `recur train`, `npx recur sweep`, `node bin/recur.js eval`; not `from 'recur'`.
  const shown = new Set([...code, ...spans].flatMap((block) =>
    [...block.matchAll(/(?:^|\s)(?:[\w./-]*\/)?recur(?:\.js)?[ \t]+([a-z][\w-]*)/gm)].map((m) => m[1]!)));
  t.ok(shown.size >= 5, `commands shown: ${[...shown].join(', ')}`);
  for (const command of shown) {
    const r = await runRecur([command, '--help']);
    t.equal(r.code, 0, `recur ${command} --help exits 0`);
    // An unknown command with --help prints the general help (also exit 0), not its own usage.
    t.match(r.stdout.split('\n')[0], new RegExp(`^recur ${command}\\b`), `recur ${command} --help shows that command's usage`);
  }
});
