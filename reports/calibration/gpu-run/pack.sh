#!/bin/bash
# Builds reports/gpu-carry/: what the lent GPU machine (no Node.js, no Vulkan loader) needs to run
# moesim. Run from the repository root after `npx tsc -p .`; rolldown is fetched by npx if absent.
set -eu
G=reports/gpu-carry
rm -rf $G && mkdir -p $G/gl $G/stage/app/node_modules
npx --yes rolldown@1.2.19 -c reports/calibration/gpu-run/rolldown.config.mjs >/dev/null
cp reports/gpu-carry/app-unpacked/moesim.mjs $G/stage/app/ && rm -rf reports/gpu-carry/app-unpacked
cp "$(command -v node)" $G/stage/node
cp -r node_modules/onnxruntime-common $G/stage/app/node_modules/
mkdir -p $G/stage/app/node_modules/onnxruntime-node/bin/napi-v6/linux
cp node_modules/onnxruntime-node/package.json $G/stage/app/node_modules/onnxruntime-node/
cp -r node_modules/onnxruntime-node/dist $G/stage/app/node_modules/onnxruntime-node/
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 $G/stage/app/node_modules/onnxruntime-node/bin/napi-v6/linux/
for p in vega vega-lite vega-embed; do mkdir -p $G/stage/app/node_modules/$p/build && cp node_modules/$p/build/*.min.js $G/stage/app/node_modules/$p/build/; done
tar -C $G/stage -cJf $G/app.tar.xz node app && rm -rf $G/stage
(cd $G/gl && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
sed 's#\.\./traces/#../../traces/#' scenarios/validate-mixtral.yaml > $G/validate-mixtral.yaml
cp reports/calibration/gpu-run/cpu.sh reports/calibration/gpu-run/webgpu.sh $G/
du -sh $G
