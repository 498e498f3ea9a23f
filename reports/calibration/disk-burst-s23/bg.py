import time, sys
def rd():
    f = open('/sys/block/vda/stat').read().split(); return int(f[2])*512, int(f[6])*512, int(f[9])  # read bytes, write bytes, io_ticks ms
T = float(sys.argv[1]); w = 0.5
a = rd(); t = time.time(); out = []
while time.time() - t < T:
    time.sleep(w); b = rd(); out.append((round((b[0]-a[0])/w/1e9, 3), round((b[1]-a[1])/w/1e9, 3), round((b[2]-a[2])/w/1000, 2))); a = b
print('read GB/s, write GB/s, busy frac:', out)
