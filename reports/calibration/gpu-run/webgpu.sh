#!/bin/bash
# On the lent GPU machine: WebGPU through NVIDIA's Vulkan driver (loader and glvnd carried as debs).
set -u
C=$(cd "$(dirname "$0")" && pwd)
cd "$C/../.."
exec > >(tee -a "$OUT/log-webgpu.txt") 2>&1
mkdir -p /tmp/g && tar -C /tmp/g -xJf "$C/app.tar.xz"
M="/tmp/g/node /tmp/g/app/moesim.mjs"
for f in "$C"/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
T0=$SECONDS
echo "== calibrate webgpu"; timeout 250 $M calibrate --backend webgpu -o $OUT/h100-webgpu.json 2>&1 | grep -vE '^  (expert|upload) '; echo "t=$((SECONDS-T0))"
echo "== validate webgpu"; timeout $((570-(SECONDS-T0))) $M validate "$C/validate-mixtral.yaml" --backend webgpu --policy ${POLICIES:-lru,pregated,expertflow,none} --max-tokens ${TOKENS:-40} --repeats 2 --profile $OUT/h100-webgpu.json --no-report --out $OUT/validate-h100-webgpu.json 2>&1 | grep -v '^  '; echo "t=$((SECONDS-T0))"
