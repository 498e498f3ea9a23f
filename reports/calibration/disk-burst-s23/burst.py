import os, sys, time, mmap, threading, json, random
# burst.py FILE BLOCK QD TOTALBYTES IDLE1,IDLE2,...  -> per idle: time to read milestones
f, block, qd, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
idles = [float(x) for x in sys.argv[5].split(',')]
size = os.path.getsize(f)
fd = os.open(f, os.O_RDONLY | os.O_DIRECT)
rnd = random.Random(7)
res = []
for idle in idles:
    time.sleep(idle)
    base = rnd.randrange(0, (size - block) // 4096) * 4096 if total < size else 0
    lock = threading.Lock(); st = {'i': 0}; ev = []
    n = total // block
    t0 = time.perf_counter()
    def w():
        buf = mmap.mmap(-1, block)
        while True:
            with lock:
                i = st['i']; st['i'] += 1
            if i >= n: return
            os.preadv(fd, [buf], (base + i * block) % (size - size % block))
            with lock: ev.append(time.perf_counter() - t0)
    ts = [threading.Thread(target=w) for _ in range(qd)]; [t.start() for t in ts]; [t.join() for t in ts]
    ev.sort()
    ms = {}
    for mb in (128, 256, 384, 512, 1024, 2048):
        k = mb * 2**20 // block
        if k <= len(ev): ms[mb] = round(ev[k-1], 4)
    # rate per segment
    seg = []; prev_mb, prev_t = 0, 0.0
    for mb, t in ms.items():
        seg.append((f'{prev_mb}-{mb}MiB', round((mb - prev_mb) * 2**20 / (t - prev_t) / 1e9, 3))); prev_mb, prev_t = mb, t
    res.append({'idle': idle, 'total_s': round(ev[-1], 3), 'GBps': round(total / ev[-1] / 1e9, 3), 'segments': seg})
    print(json.dumps(res[-1]), flush=True)
