// A prediction server: one model loaded once, predictions in a request handler on the main
// thread (WebAssembly kernels, no worker threads). No dependencies beyond recur; the handler has
// Express's shape, so `app.post('/predict', express.json(), handler)` works the same.
//
//   npx recur train experiments/co2.yaml                      # writes runs/co2/checkpoint.safetensors
//   node examples/predict-server.mjs runs/co2/checkpoint.safetensors 3000
//   curl -s localhost:3000/predict -d '{"rows": [{"Date": "2020-01-01", "CO2": 413.4}, …]}'
//
// Series models take {"rows": [...]} (the checkpoint's columns; at least seqLen rows per series,
// one more with differencing) and answer the forecast after each series' last row; sequence
// models take {"sequences": [[[...features], ...], ...]} and answer labels with probabilities, or values.
import { createServer } from 'node:http';
import { loadModel, InputError } from '../dist/src/main/api.js'; // in an app: from 'recur'

const [checkpoint = 'runs/co2/checkpoint.safetensors', port = '3000'] = process.argv.slice(2);
const model = await loadModel(checkpoint);

/** Express-style: req.body is the parsed JSON; answers with res.status(...).json(...). */
export function handler(req, res) {
  try {
    const body = req.body ?? {};
    const result = model.meta.task === 'series' ? { forecasts: model.forecast(body.rows ?? []) } : { predictions: model.predict(body.sequences ?? []) };
    res.status(200).json(result);
  } catch (err) {
    // Bad input (a missing column, too few rows, a step with the wrong feature count) is the caller's to fix.
    res.status(err instanceof InputError ? 400 : 500).json({ error: err.message });
  }
}

// The same handler on node:http, with the two Express helpers it uses.
const server = createServer((req, res) => {
  let text = '';
  req.setEncoding('utf8').on('data', (chunk) => { text += chunk; }).on('end', () => {
    const reply = {
      status(code) { res.statusCode = code; return reply; },
      json(value) { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(value) + '\n'); },
    };
    try {
      req.body = text ? JSON.parse(text) : {};
    } catch {
      return reply.status(400).json({ error: 'the body is not JSON' });
    }
    handler(req, reply);
  });
});
server.listen(Number(port), () => {
  console.log(`recur: ${model.meta.task} model ${checkpoint} (${model.kernels} kernels) on http://localhost:${server.address().port}/predict`);
});
