import json, copy, sys
P='/work/wt/fid/scenarios/published/points.json'
d=json.load(open(P))
bars=json.load(open('/tmp/fid/bars2.json'))
pts=d['points']
ix={p['id']:i for i,p in enumerate(pts)}
fid0=pts[ix['fiddler-v1-rtx6000-16-512-fiddler']]; mii0=pts[ix['fiddler-v1-rtx6000-16-512-deepspeed-mii']]
l4=pts[ix['fiddler-repo-l4-mii-128-512']]
mii_groups = None if len(sys.argv)<2 else sys.argv[1]  # 'all' or 'ends'
READ=("BAR CHART: the value is read off the figure programmatically (the PNG decoded, 3600x1200 px; the bar's top edge "
      "centre row against a least-squares line through the 1-4 token/s gridline centres, residuals under 0.3 px; "
      "1 px = %.4f token/s in Environment %d; the bars' edges are snapped to whole pixels, so the reading is within "
      "+-0.01 token/s, +-0.03 stated), not from a table.")
ENVTXT={1:"Environment 1 of v1 (Quadro RTX 6000 + 48-core Skylake)",2:"Environment 2 of v1 (L4 + 32-core Cascade Lake)"}
PXV={1:1/87.6,2:1/93.6}
HOST2=("\"L4 GPU (24GB) + 32-core Intel Cascade Lake CPU\" (efeslab/fiddler@227715b:README.md, Environment 2); modelled as the "
       "fiddler-repo-l4-mii-128-512 point's host: the l4 preset on a PCIe 3.0 x16 link (Cascade Lake-SP's Purley platform has "
       "PCIe 3.0 root ports) and the xeon-8280-2s CPU preset as a Cascade Lake stand-in (the README names no SKU; "
       "2 x 28 cores, so the 32-core host's CPU experts are modelled on a same-generation CPU with more cores than the paper's)")
def ctx(i,o):
    return (f"efeslab/fiddler README.md Benchmarks figure (asset/results.png @227715b), group [input {i}, output {o}]; "
            "efeslab/fiddler@1ad7a6c624a6c4f297d67f8d753efd75c0b0fa77:benchmarks/latency.py: ShareGPT first turns with at least "
            f"input_token words, the tokenized prompt cut to its first {i} tokens, {o} tokens generated (no stop at EOS), "
            "n_sample = 10; tok/s = output tokens / (prefill + decode) time")
new=[]
def val(env,g,sysn):
    b=[x for x in bars if x['env']==env and x['group']==g and x['system']==sysn][0]
    return round(b['value'],2 if sysn=='fiddler' else 3)
for env in (1,2):
  for i in (16,32,64,128):
    for o in (16,32,64,128,256,512):
      g=[i,o]; gpu='quadro-rtx-6000' if env==1 else 'l4'; tag='rtx6000' if env==1 else 'l4'
      comp=f"fiddler-v1-env{env}-in{i}"
      for sysn,base in (('fiddler',fid0),('deepspeed-mii',mii0)):
        if sysn=='deepspeed-mii' and mii_groups=='ends' and o != 512: continue
        pid=f"fiddler-v1-{tag}-{i}-{o}-{sysn}"
        v=val(env,g,sysn)
        p=copy.deepcopy(base) if pid not in ix else pts[ix[pid]]
        p['id']=pid
        name='Fiddler' if sysn=='fiddler' else 'DeepSpeed-MII'
        p['source']['locator']=f"README Benchmarks figure, Environment {env} ({'Quadro RTX 6000' if env==1 else 'L4'} GPU), group [{i}, {o}], {name} bar"
        p['source']['quote']=f"{name}, [input {i}, output {o}]: {v} token/s (read off the bar chart)"
        p['gpu']=gpu
        if env==1:
            p['hardware']={'preset':'quadro-rtx-6000'}; p['host']=fid0['host']
        else:
            p['hardware']=copy.deepcopy(l4['hardware']); p['host']=HOST2
        cs=ctx(i,o) if sysn=='fiddler' else (f"efeslab/fiddler README.md Benchmarks figure (asset/results.png @227715b), group [input {i}, output {o}]; "
            "efeslab/fiddler@1ad7a6c624a6c4f297d67f8d753efd75c0b0fa77:benchmarks/eval-baseline.py: ShareGPT first turns with at least input_token words, "
            f"tokenizer.encode cut to the first {i} tokens, model.generate(max_new_tokens=min_new_tokens={o}, do_sample=True, temperature=0.9, top_p=0.9), "
            "timed around generate, n_sample = 3; token/s = output_token / mean time: prefill included")
        p['workload']={'batchSize':1,'promptTokens':i,'outputTokens':o,'timed':'end-to-end','contextSource':cs,
            'note':f"ShareGPT prompts cut to {i} tokens, {o} generated, greedy (Fiddler) / sampled (baselines, HF generate); tok/s = output tokens / (prefill + decode time), prefill included"}
        p['value']=v; p['comparison']=comp
        extra=(" The 'DeepSpeed-MII' baseline is ZeRO-3 with offload_param {device: cpu, pin_memory: true}, bf16, MixtralSparseMoeBlock as a z3 leaf module, through Hugging Face generate (efeslab/fiddler@1ad7a6c624a6c4f297d67f8d753efd75c0b0fa77:benchmarks/eval-baseline.py init_deepspeed_mii): ZeRO-Inference, the deepspeed-zero-inference preset. At 0.10-0.13 token/s a pixel is ~9% of the value: the reading is within +-10%. Only the output-512 DS-MII bar of each input row is entered: the row's other DS-MII bars lie within 1-2 px of it (0.10-0.13 token/s), differences below the reading error that would make the comparison's order noise."
               if sysn=='deepspeed-mii' else " Fiddler code of that version: efeslab/fiddler@1ad7a6c624a6c4f297d67f8d753efd75c0b0fa77 (benchmarks/latency.py, src/fiddler/mixtral.py).")
        p['notes']=(READ%(PXV[env],env))+f" {ENVTXT[env]}; the ICLR 2025 version re-measures on other machines (not read). Eliseev & Mazur's bar of the group (mixtral-offloading unquantized, offload_per_layer = 7, eval-baseline.py init_mixtral_offload, quantized = False) is not added: the mixtral-offloading preset has HQQ formats only. README: Fiddler faster than DeepSpeed-MII on average over the 24 settings by 19.4x (Environment 1) and 22.5x (Environment 2). Comparison: the input row's six Fiddler bars (outputs 16-512, whose published token/s rises with the output length as the prefill is amortised) and its DS-MII bar at output 512."+extra
        if pid in ix: pts[ix[pid]]=p
        else: new.append(p)
# insert new points after the existing DS-MII point
k=ix['fiddler-v1-rtx6000-16-512-deepspeed-mii']+1
d['points']=pts[:k]+new+pts[k:]
open(P,'w').write(json.dumps(d,indent=1,ensure_ascii=False)+"\n")
print(len(new),'new;',len(d['points']),'total')
