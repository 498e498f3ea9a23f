"""Read the bars of efeslab/fiddler@227715bfd6e8c731b29548eab01d9919c4fe9564:asset/results.png (session 26, helper fid).
Usage: git --git-dir=<fiddler mirror> show 227715bf...:asset/results.png > results.png; python3 read-fiddler-bars.py results.png
PNG decoded with zlib+struct (no PIL); each panel calibrated by a least-squares line through its 1-4 token/s gridline
centres (4 px dashed lines, centre = first full row + 1.5); a bar value is its top edge (4 px, snapped to whole pixels)
centre row on that line. The legend (rows 131-199 of Environment 1, x < 1400) is skipped."""
import zlib,struct,json,numpy as np
def load(fn):
    b=open(fn,'rb').read(); i=8; idat=b''
    while i<len(b):
        n,=struct.unpack('>I',b[i:i+4]); t=b[i+4:i+8]; d=b[i+8:i+8+n]; i+=12+n
        if t==b'IHDR': w,h,bd,ct=struct.unpack('>IIBB',d[:10])
        elif t==b'IDAT': idat+=d
    raw=zlib.decompress(idat); bpp=4 if ct==6 else 3; st=w*bpp
    out=np.zeros((h,st),np.uint8); prev=np.zeros(st,np.int32); p=0
    for y in range(h):
        f=raw[p]; line=np.frombuffer(raw[p+1:p+1+st],np.uint8).astype(np.int32); p+=1+st
        if f==0: cur=line
        elif f==2: cur=(line+prev)&255
        else:
            cur=np.zeros(st,np.int32)
            for x in range(st):
                a=cur[x-bpp] if x>=bpp else 0; c=prev[x-bpp] if x>=bpp else 0; up=prev[x]
                if f==1: v=line[x]+a
                elif f==3: v=line[x]+((a+up)>>1)
                else:
                    pa=abs(up-c); pb=abs(a-c); pc=abs(a+up-2*c)
                    pr=a if (pa<=pb and pa<=pc) else (up if pb<=pc else c); v=line[x]+pr
                cur[x]=v&255
        out[y]=cur; prev=cur
    return out.reshape(h,w,bpp)
import sys
img=load(sys.argv[1] if len(sys.argv)>1 else 'results.png')[:,:,:3].astype(int)
MII=np.array((166,206,227))
groups=[[i,o] for i in (16,32,64,128) for o in (16,32,64,128,256,512)]
panels=[dict(grid=[148,236,323,411],y0row=496,top=113),dict(grid=[650,744,837,931],y0row=1022,top=639)]
out=[]
for pi,P in enumerate(panels):
    cen=np.array([g+1.5 for g in P['grid']]); v=np.array([4,3,2,1.])
    b,a=np.polyfit(v,cen,1)
    row=img[P['y0row']]; m=(row==MII).all(1)
    starts=[x for x in range(1,len(m)) if m[x] and not m[x-1]]
    starts=[s for s in starts if m[s:s+15].all()][:24]
    assert len(starts)==24, starts
    for gi,s in enumerate(starts):
        for k,name in enumerate(['deepspeed-mii','eliseev-mazur','fiddler']):
            x0=s+34*k  # approx; refine by searching colour/edges
            tops=[]
            for x in range(x0+3,x0+18):
                y1=200 if (pi==0 and x<1400) else P['top']+3
                col=img[y1:P['y0row'],x]
                dark=np.where((col<40).all(1))[0]
                if len(dark): tops.append(int(dark[0])+y1)
            r=int(np.median(tops)); spread=max(tops)-min(tops)
            val=float((r+1.5-a)/b)
            out.append(dict(env=pi+1,group=groups[gi],system=name,row=r,spread=spread,value=round(val,4),x0=int(x0)))
for pi in (1,2):
    print('ENV',pi)
    for gi,g in enumerate(groups):
        rs=[o for o in out if o['env']==pi and o['group']==g]
        print(g, ' '.join(f"{o['system'][:3]}={o['value']:.3f}(r{o['row']},sp{o['spread']})" for o in rs))
json.dump(out,open("fiddler-bars.json","w"),indent=0)
