"""PyTorch side by side with recur's experiments/co2-recursive.yaml and co2-direct.yaml, scored as
scripts/compare-recursive.mjs scores recur's: 12-month forecasts from every validation month,
MSE in ppm² at 1, 3, 6, 12 months ahead and over all 12, and persistence.

Same data, month-to-month differences, z-score statistics of the training changes, windows
(seqLen 24, stride 1, horizon 1 or 12, targets the next h changes), split (last 20% of months),
LSTM 32, head after the last step, batch 32, 600 steps, Adam lr 0.005, clip 5, MSE on normalised
targets, the final model. --init torch (default): PyTorch's own initial draws and numpy's
shuffling, an independent run; --init recur: recur's initial weights and batch order for the seed,
so only the arithmetic differs.

Usage: /usr/bin/python3 scripts/compare/co2_forecast.py [--seeds 1,2,3] [--init torch|recur]
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import parse_args, Forecaster, init_like_recur, read_columns, summary, train, train_rows, window_starts, zscore  # noqa: E402

SEQ_LEN, H, VAL_FRACTION = 24, 12, 0.2


def fit(z, n_train, horizon, seed, like_recur):
    starts, _ = window_starts(len(z), n_train, SEQ_LEN, horizon)
    x = torch.tensor(np.stack([z[s:s + SEQ_LEN] for s in starts]))[:, :, None]
    y = torch.tensor(np.stack([z[s + SEQ_LEN:s + SEQ_LEN + horizon] for s in starts]))
    torch.manual_seed(seed)
    model = Forecaster(1, 32, horizon)
    if like_recur:
        init_like_recur(model, seed)
    return train(model, x, y, torch.nn.functional.mse_loss, batch=32, steps=600, lr=0.005, seed=seed, recur_order=like_recur)


def score(levels, z, mean, std, recursive, direct):
    n = len(levels)
    first_val = n - math.ceil(VAL_FRACTION * n)
    # Origin o: file rows 0..o observed; the window is the changes into rows o-23..o.
    origins = list(range(first_val - 1, n - H))
    window = torch.tensor(np.stack([z[o - SEQ_LEN:o] for o in origins]))[:, :, None]
    last = levels[origins]
    truth = np.stack([levels[o + 1:o + 1 + H] for o in origins])
    with torch.no_grad():
        fed, level, w = [], last.copy(), window.clone()
        for _ in range(H):
            p = recursive(w)  # [origins, 1], normalised change
            level = level + p[:, 0].double().numpy() * std + mean
            fed.append(level)
            w = torch.cat([w[:, 1:], p[:, None, :]], dim=1)
        fed = np.stack(fed, axis=1)
        once = last[:, None] + np.cumsum(direct(window).double().numpy() * std + mean, axis=1)
    report = {'origins': len(origins)}
    for name, forecast in (('recursive', fed), ('direct', once), ('persistence', np.repeat(last[:, None], H, axis=1))):
        mse = ((forecast - truth) ** 2).mean(axis=0)
        report[name] = {'t1': mse[0], 't3': mse[2], 't6': mse[5], 't12': mse[11], 'all': mse.mean()}
    return report


def main():
    args = parse_args()
    levels = read_columns('data/co2-concentration.csv', ['CO2'])['CO2']
    changes = np.diff(levels)
    n_train = train_rows(len(levels), VAL_FRACTION, 1)
    mean, std = zscore(changes, n_train)
    z = ((changes - mean) / std).astype(np.float32)
    reports = []
    for seed in (int(s) for s in args.seeds.split(',')):
        r = score(levels, z, mean, std, fit(z, n_train, 1, seed, args.init == 'recur'), fit(z, n_train, H, seed, args.init == 'recur'))
        reports.append(r)
        print(json.dumps({'seed': seed, **{k: ({m: round(float(v), 4) for m, v in d.items()} if isinstance(d, dict) else d) for k, d in r.items()}}))
    out = {}
    for name in ('recursive', 'direct', 'persistence'):
        out[name] = {m: '%.3g ± %.2g' % summary([r[name][m] for r in reports]) for m in ('t1', 't3', 't6', 't12', 'all')}
    print(json.dumps({'seeds': args.seeds, 'init': args.init, 'mean ± sd': out}, ensure_ascii=False))


if __name__ == '__main__':
    main()
