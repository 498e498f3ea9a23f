import os, sys, time, mmap, threading, json, random
# usage: probe.py FILE SECONDS BLOCK QD MODE(seq|rand) READBYTES [label]
f, secs, block, qd, mode, readbytes = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
size = os.path.getsize(f)
fd = os.open(f, os.O_RDONLY | os.O_DIRECT)
lock = threading.Lock()
events = []  # (t_end, bytes)
t0 = time.perf_counter()
stop = t0 + secs
rnd = random.Random(1)
state = {'pos': 0}
def nextreq():
    with lock:
        if mode == 'seq':
            p = state['pos']; state['pos'] = (p + block) % (size - block)
            return p - p % 4096
        # rand: expert-sized reads at random aligned start; the read is issued as block requests sequentially within
        if state.get('left', 0) <= 0:
            state['base'] = rnd.randrange(0, (size - readbytes) // 4096) * 4096; state['left'] = readbytes; state['off'] = 0
        p = state['base'] + state['off']; state['off'] += block; state['left'] -= block
        return p
def worker():
    buf = mmap.mmap(-1, block)
    while True:
        now = time.perf_counter()
        if now >= stop: return
        p = nextreq()
        n = os.preadv(fd, [buf], p)
        with lock: events.append((time.perf_counter() - t0, n))
ts = [threading.Thread(target=worker) for _ in range(qd)]
[t.start() for t in ts]; [t.join() for t in ts]
events.sort()
win = float(os.environ.get("WIN", "0.5"))
out = []; b = 0; edge = win; 
for t, n in events:
    while t > edge:
        out.append(b / win / 1e9); b = 0; edge += win
    b += n
tot = sum(n for _, n in events); el = events[-1][0]
print(json.dumps({'label': sys.argv[7] if len(sys.argv) > 7 else '', 'mode': mode, 'block': block, 'qd': qd, 'seconds': el, 'GB': tot/1e9, 'meanGBps': tot/el/1e9, 'windowsGBps': [round(x, 3) for x in out]}))
