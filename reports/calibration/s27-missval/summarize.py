"""Session 27 (s27-missval, from s27-drift/summarize.py; adds the CPU worker's waits for a core): the per-policy TPOT errors of every validate-*.json in this folder (and, with a
folder argument, of another, e.g. ../miss-2core-s26), with the drift samples' upload ratios, the
waits for a core, the load average at the end and the fresh device buffers of the passes.
python3 summarize.py [folder]"""
import glob, json, os, sys

folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
pc = lambda x: f"{100 * x:+.1f}%"
for f in sorted(glob.glob(os.path.join(folder, 'validate-*.json'))):
    d = json.load(open(f))
    dr = d['drift']
    up, ex = dr.get('uploadRatio'), dr.get('expertRatio')
    load = d.get('loadAverage')
    print(f"{os.path.basename(f)}: load at end {', '.join(f'{x:.1f}' for x in load) if load else '?'}; "
          f"samples: uploads x{up['median']:.2f} (x{up['min']:.2f}-x{up['max']:.2f}), expert runs x{ex['median']:.2f} (x{ex['min']:.2f}-x{ex['max']:.2f}); "
          f"fresh device buffers in the passes: {d['replay'].get('freshDeviceBuffers', 'not reported')}")
    for p in d['policies']:
        q = p['passes']
        s, w, pr = q['tpotErrorSpread'], q['wallTpotErrorSpread'], q['profileTpotErrorSpread']
        ws = q.get('waitShareSpread')
        rp = next(x for x in d['replay']['policies'] if x['label'] == p['label'])
        steps = len(p['measuredStepSec'])
        cw = f"  CPU worker waited {1e3 * rp.get('cpuWaitSec', 0) / steps:.2f} of {1e3 * rp['cpuSec'] / steps:.2f} ms/step" if rp.get('cpuExperts') else ''
        print(f"  {p['label']:<14}{cw} on a core {pc(s['median'])} ({pc(s['min'])}, {pc(s['max'])})  wall {pc(w['median'])}  "
              f"profile as calibrated {pc(pr['median'])} ({pc(pr['min'])}, {pc(pr['max'])})  waited {100 * ws['median']:.0f}% ({100 * ws['min']:.0f}-{100 * ws['max']:.0f}%)" if ws else "")
