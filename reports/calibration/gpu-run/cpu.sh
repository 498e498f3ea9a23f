#!/bin/bash
# On the lent GPU machine: calibrate and validate the host CPU (ORT CPU EP), every policy, whole trace.
set -u
C=$(cd "$(dirname "$0")" && pwd)
cd "$C/../.."
exec > >(tee -a "$OUT/log-cpu.txt") 2>&1
nproc; lscpu | grep -E 'Model name|L3'; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/g && tar -C /tmp/g -xJf "$C/app.tar.xz"
M="/tmp/g/node /tmp/g/app/moesim.mjs"
T0=$SECONDS
echo "== calibrate cpu"; timeout 150 $M calibrate --backend cpu -o $OUT/h100-host-cpu.json 2>&1 | grep -vE '^  (expert|upload) '; echo "t=$((SECONDS-T0))"
echo "== validate cpu"; timeout $((570-(SECONDS-T0))) $M validate "$C/validate-mixtral.yaml" --backend cpu --profile $OUT/h100-host-cpu.json --no-report --out $OUT/validate-h100-host-cpu.json 2>&1 | grep -v '^  '; echo "t=$((SECONDS-T0))"
