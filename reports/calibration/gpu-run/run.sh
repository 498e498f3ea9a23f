#!/bin/bash
# moesim calibrate + validate on the lent GPU machine: CPU backend, then WebGPU (NVIDIA Vulkan ICD).
set -u
C=$(cd "$(dirname "$0")" && pwd)
R=$(cd "$C/../.." && pwd)
cd "$R"
L=$OUT/log.txt
exec > >(tee -a "$L") 2>&1
echo "== tree: $(pwd) $(git log -1 --oneline 2>/dev/null) $(git branch --show-current 2>/dev/null)"
nproc; free -g | head -2; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
lscpu | grep -E 'Model name|^CPU\(s\)|L3'
mkdir -p /tmp/g && (tar -C /tmp/g -xJf "$C/app.tar.xz" || python3 -c "import tarfile,sys;tarfile.open(sys.argv[1]).extractall('/tmp/g')" "$C/app.tar.xz")
N=/tmp/g/node; $N --version
M="$N /tmp/g/app/moesim.mjs"
T0=$SECONDS
echo "== calibrate cpu"; timeout 170 $M calibrate --backend cpu -o $OUT/cpu.json 2>/dev/null; echo "rc=$? t=$((SECONDS-T0))"
echo "== validate cpu"; timeout 200 $M validate "$C/validate-mixtral.yaml" --backend cpu --profile $OUT/cpu.json --no-report --out $OUT/validate-cpu.json; echo "rc=$? t=$((SECONDS-T0))"
echo "== vulkan"
for f in "$C"/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib:${LD_LIBRARY_PATH:-}
cat $VK_DRIVER_FILES 2>&1 | head -8; ls /usr/local/nvidia/lib64 2>/dev/null | grep -iE 'glx|vulkan|egl' | head; ldconfig -p | grep -iE 'libvulkan|GLdispatch|GLX_nvidia' | head
echo "== calibrate webgpu"; timeout 150 $M calibrate --backend webgpu -o $OUT/webgpu.json 2>&1 | grep -vE '^  (expert|upload) ' | tail -30; echo "rc=$? t=$((SECONDS-T0))"
if [ -f $OUT/webgpu.json ]; then
echo "== validate webgpu"; timeout $((560-(SECONDS-T0))) $M validate "$C/validate-mixtral.yaml" --backend webgpu --policy lru,lfu,none --max-tokens 120 --repeats 2 --profile $OUT/webgpu.json --no-report --out $OUT/validate-webgpu.json; echo "rc=$? t=$((SECONDS-T0))"
fi
