"""
s26-accel diagnostic: the per-upload host cost each Accelerate point would need.

Two `reproduce --fit none --json` runs: the branch as is (base) and a what-if with 50 more syncs
per hooked tensor (src/systems/catalog.ts ACC_HOOK_SYNCS_PER_TENSOR 2 -> 52, i.e. +1 ms per
set_module_tensor_to_device at eager PyTorch's 20 us per sync; not committed). Simulated time is
linear in that cost, so (published - base) / (whatif - base) is the extra cost per upload, in ms,
that would put each point on its published value. Usage: python3 needed-per-upload.py base.json whatif.json
"""
import json, sys
base = json.load(open(sys.argv[1]))['unfitted']['points']
what = {p['id']: p for p in json.load(open(sys.argv[2]))['unfitted']['points']}
for p in base:
    if p['system'] != 'hf-accelerate':
        continue
    q = what[p['id']]
    s0, s1, pub = p['simulatedSecPerToken'], q['simulatedSecPerToken'], p['publishedSecPerToken']
    print('%-52s published %.3f s/token, simulated %.3f -> %.3f (+1 ms/upload), error %+.0f%% -> %+.0f%%, needed %+.2f ms/upload'
          % (p['id'], pub, s0, s1, p['error'] * 100, q['error'] * 100, (pub - s0) / (s1 - s0)))
