// Session 24 (moesim README, storage tier): run with `node uvwait.mjs [file on the disk]`; the file (672 MiB) is created and deleted.
// O_DIRECT reads of a 2.6 MiB slot (1 MiB x 4 in flight), back to back vs after 3 ms of CPU work each;
// per read: wall time, the main thread's run-queue wait, and the libuv pool threads' (sum over /proc/self/task).
import { openSync, writeSync, closeSync, constants, read, readFileSync, readdirSync, unlinkSync, fsyncSync } from 'node:fs';
const F=process.argv[2] ?? '/tmp/moesim-uvwait.bin', SLOT=2752512, N=256, BS=1<<20, QD=4;
const w=openSync(F,'w'); const chunk=Buffer.alloc(SLOT*16, 7); for(let i=0;i<N/16;i++) writeSync(w,chunk); fsyncSync(w); closeSync(w);
const fd=openSync(F, constants.O_RDONLY|constants.O_DIRECT);
const buf=Buffer.allocUnsafeSlow(SLOT+8192); let base=0; for(;base<4096;base+=8){try{ await new Promise((res,rej)=>read(fd,buf,base,4096,0,(e)=>e?rej(e):res())); break;}catch{}}
const pid=process.pid;
const wait=(tid)=>Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`,'utf8').split(' ')[1])/1e9;
const comm=(tid)=>readFileSync(`/proc/${pid}/task/${tid}/comm`,'utf8').trim();
const one=(k)=>new Promise((res,rej)=>{let next=0,done=0;const n=Math.ceil(SLOT/BS);const go=()=>{if(next>=n)return;const i=next++;const len=Math.min(BS,SLOT-i*BS);read(fd,buf,base+0,Math.ceil(len/4096)*4096,k*SLOT+i*BS,(e)=>{if(e)return rej(e);if(++done===n)res();else go();});};for(let q=0;q<Math.min(QD,n);q++)go();});
await one(0);
const tasks=()=>readdirSync(`/proc/${pid}/task`).map(Number);
const uv=()=>tasks().filter(t=>t!==pid);
console.log('threads', tasks().length, '(Node 20 names them all node: every thread but the main one is summed, the libuv pool and V8 workers)');
for (const mode of ['back-to-back','after 3 ms CPU']) {
  const wall=[],mainW=[],uvW=[];
  for(let i=0;i<60;i++){
    if(mode!=='back-to-back'){const t=performance.now(); let x=0; while(performance.now()-t<3) x+=Math.sqrt(x+1);}
    const u=uv(); const m0=wait(pid), u0=u.reduce((a,t)=>a+wait(t),0), t0=performance.now();
    await one((i*7919+13)%N);
    wall.push(performance.now()-t0); mainW.push((wait(pid)-m0)*1e3); uvW.push((u.reduce((a,t)=>a+wait(t),0)-u0)*1e3);
  }
  const mean=a=>a.reduce((x,y)=>x+y,0)/a.length, med=a=>[...a].sort((x,y)=>x-y)[a.length>>1];
  console.log(`${mode}: wall median ${med(wall).toFixed(2)} mean ${mean(wall).toFixed(2)} ms; main thread waits ${mean(mainW).toFixed(2)} ms/read; pool threads' waits (summed) ${mean(uvW).toFixed(2)} ms/read`);
}
closeSync(fd); unlinkSync(F);
