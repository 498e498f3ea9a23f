#!/bin/bash
# Second run: WebGPU only, after the calibration fixes (uploads timed as a miss issues them).
set -u
C=$(cd "$(dirname "$0")" && pwd)
cd "$C/../.."
exec > >(tee -a "$OUT/log2.txt") 2>&1
mkdir -p /tmp/g && tar -C /tmp/g -xJf "$C/app.tar.xz"
M="/tmp/g/node /tmp/g/app/moesim.mjs"
for f in "$C"/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
T0=$SECONDS
echo "== calibrate webgpu"; timeout 70 $M calibrate --backend webgpu -o $OUT/webgpu2.json 2>&1 | grep -vE '^  (expert|upload) ' | head -24; echo "t=$((SECONDS-T0))"
echo "== validate webgpu"; timeout 110 $M validate "$C/validate-mixtral.yaml" --backend webgpu --policy lru,none --max-tokens 40 --repeats 2 --profile $OUT/webgpu2.json --no-report --out $OUT/validate-webgpu2.json 2>&1 | grep -v '^  '; echo "t=$((SECONDS-T0))"
