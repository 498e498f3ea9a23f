# Diagnostic only (round s26-enc, README "Encoder pass, round s26-enc"): a copy of the suite with the
# 2024 Switch-Large-128 / NLLB-MoE-54B README cells at the bounds of the benchmark script of the next
# day (EfficientMoE/MoE-Infinity@9cd8e99:examples/interface_example.py: max_length 512, max_new_tokens
# 20) and the whole request timed. Not the points' context (the README states none).
# Run: python3 reports/s26-enc/diag-suite.py > /tmp/enc-suite-diag.json
#      node dist/src/cli/main.js reproduce --fit none --suite /tmp/enc-suite-diag.json --out /tmp/enc-diag --json
import json
d = json.load(open('scenarios/published/points.json'))
for p in d['points']:
    if p['model'] in ('switch-large-128', 'nllb-moe-54b') and not p['id'].startswith('mi-readme-2025-'):
        p['workload'].update(promptTokens=512, outputTokens=20, timed='end-to-end')
print(json.dumps(d, indent=1, ensure_ascii=False))
