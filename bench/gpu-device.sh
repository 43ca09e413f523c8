#!/usr/bin/env bash
# Runs the WebGPU bench on a GPU machine that has python3 + torch + CUDA but no Node and no
# network, from the repository root, with .gpu-carry/ (npm run bench:gpu:prepare, plus node.xz)
# and .gl/*.deb (the Vulkan loader and libglvnd) carried beside the checkout:
#   OUT=/some/dir bash bench/gpu-device.sh [--quick | --sweep | --cli]
# --cli (needs `node scripts/gpu-carry.mjs --cli`) times `gradlab train --device webgpu` on M-LSTM
# (H512, E128, B64, T128, char-level Tiny Shakespeare) for 20 and 220 steps instead of the bench,
# and prints tokens/s of each run and, from the 220-step run's metrics, of its steps 20-220:
# $OUT/gpu-cli.json, the runs in $OUT/cli-20 and $OUT/cli-220. CLI_SIZE="--hidden 16 ..." replaces
# the size options (a trial run on a machine without a real GPU).
# --sweep runs the matmul tile × split-K sweep (bench/gpu-sweep.ts, ≤ 150 s, $OUT/gpu-sweep.json)
# and then the M-LSTM training step alone (no PyTorch), instead of the full bench.
# Writes $OUT/gpu-bench.json (rewritten after every figure), $OUT/probe.json and
# $OUT/gpu-device.log. Every step has a timeout and a failed step does not stop the later ones.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gradlab-gpu-out}
mkdir -p "$OUT"
LOG="$OUT/gpu-device.log"
exec > >(tee -a "$LOG") 2>&1
QUICK=""
[ "${1:-}" = "--quick" ] && QUICK="--quick"
SWEEP=""
[ "${1:-}" = "--sweep" ] && SWEEP="--sweep"
CLI=""
[ "${1:-}" = "--cli" ] && CLI="--cli"
T0=$(date +%s)
say() { echo "[gpu-device +$(( $(date +%s) - T0 ))s] $*"; }

unxz_to() { # unxz_to SRC DEST: xz if present, else Python's lzma
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}

# GL_ROOT=dir unpacks them there instead of / and points LD_LIBRARY_PATH at them (for a trial run
# on a machine whose system libraries must stay as they are).
say "libraries: Vulkan loader and libglvnd from .gl/"
if ls .gl/*.deb >/dev/null 2>&1; then
  ROOTDIR=${GL_ROOT:-/}
  mkdir -p "$ROOTDIR"
  for f in .gl/*.deb; do timeout 60 dpkg -x "$f" "$ROOTDIR" || say "dpkg -x $f failed"; done
  if [ "$ROOTDIR" = / ]; then timeout 60 ldconfig || say "ldconfig failed"
  else export LD_LIBRARY_PATH="$ROOTDIR/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
else
  say "no .gl/*.deb: relying on the machine's own libraries"
fi

say "node: unpacking .gpu-carry/node.xz"
NODE_DIR=/tmp/gradlab-node
mkdir -p "$NODE_DIR"
if [ ! -x "$NODE_DIR/node" ]; then
  timeout 120 bash -c "$(declare -f unxz_to); unxz_to .gpu-carry/node.xz '$NODE_DIR/node'" && chmod +x "$NODE_DIR/node"
fi
NODE="$NODE_DIR/node"
timeout 20 "$NODE" --version || { say "node does not run here; giving up"; exit 1; }

DAWN=.gpu-carry/node_modules/webgpu/dist/linux-x64/dawn.node
if [ ! -f "$DAWN" ]; then
  say "dawn.node: unpacking"
  timeout 120 bash -c "$(declare -f unxz_to); unxz_to '$DAWN.xz' '$DAWN'" || { say "could not unpack dawn.node"; exit 1; }
fi

# NVIDIA's Vulkan ICD may sit outside the loader's search path.
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export VK_ICD_FILENAMES=$VK_DRIVER_FILES
    say "VK_DRIVER_FILES=$VK_DRIVER_FILES"
  else
    say "no NVIDIA Vulkan ICD file found; Dawn will search the default paths"
  fi
fi
timeout 20 nvidia-smi -L || true

if [ -n "$CLI" ]; then
  [ -f .gpu-carry/gradlab-cli.mjs ] || { say "no .gpu-carry/gradlab-cli.mjs: run node scripts/gpu-carry.mjs --cli first"; exit 1; }
  for n in 20 220; do
    say "gradlab train --device webgpu, M-LSTM, $n steps"
    rm -rf "$OUT/cli-$n"
    timeout 240 "$NODE" .gpu-carry/gradlab-cli.mjs train --data .gpu-carry/data/tinyshakespeare.txt --tokenizer char \
      --device webgpu --cell lstm ${CLI_SIZE:---hidden 512 --embedding 128 --batch 64 --bptt 128} --steps "$n" \
      --eval-every 0 --checkpoint-every 0 --seed 0 --out "$OUT/cli-$n" 2>&1 | tr '\r' '\n' | grep -v '^training' | tail -n 5
    say "exit ${PIPESTATUS[0]}"
  done
  python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
r = {}
tok = 0
for n in (20, 220):
    try:
        c = json.load(open(f"{out}/cli-{n}/config.json"))
        tok = c["batch"] * c["bptt"]
        s = json.load(open(f"{out}/cli-{n}/summary.json"))
        r[n] = s["seconds"]
        print(f"{n} steps: {s['seconds']:.3f} s, {n * tok / s['seconds']:.0f} tokens/s (loop time: first step's pipelines, final pull and checkpoint included)")
    except Exception as e:
        print(f"{n} steps: no summary ({e})")
res = {"tokensPerStep": tok, "seconds": r}
# Steady state from the 220-step run's own metrics (train records carry the loop time): two
# processes' warm-ups differ (the second finds the driver's shader cache warm), so the difference
# of their totals is not a rate.
try:
    recs = [json.loads(l) for l in open(f"{out}/cli-220/metrics.jsonl")]
    tr = [x for x in recs if x.get("type") == "train" and x["step"] >= 20]
    rates = sorted((b["step"] - a["step"]) * tok / (b["time"] - a["time"]) for a, b in zip(tr, tr[1:]))
    res["steadyTokensPerSecond"] = (tr[-1]["step"] - tr[0]["step"]) * tok / (tr[-1]["time"] - tr[0]["time"])
    res["medianIntervalTokensPerSecond"] = rates[len(rates) // 2]
    print(f"steps {tr[0]['step']}-{tr[-1]['step']} of the 220-step run: {res['steadyTokensPerSecond']:.0f} tokens/s "
          f"(median of its {len(rates)} logging intervals {res['medianIntervalTokensPerSecond']:.0f})")
except Exception as e:
    print(f"no steady-state figure ({e})")
json.dump(res, open(f"{out}/gpu-cli.json", "w"), indent=2)
PY
  exit 0
fi

say "probe: adapter, limits, numerical checks (matmul tiles, split-K, LSTM/GRU gradients vs CPU)"
timeout 90 "$NODE" .gpu-carry/gpu-bench.mjs --probe > "$OUT/probe.out"
say "probe exit $?"
grep '^RESULT ' "$OUT/probe.out" | sed 's/^RESULT //' > "$OUT/probe.json"
head -c 600 "$OUT/probe.json"; echo

if [ -n "$SWEEP" ]; then
  say "sweep: matmul tiles × split-K, per-dispatch costs (bounded at 150 s)"
  timeout 190 "$NODE" .gpu-carry/gpu-bench.mjs --sweep --json "$OUT/gpu-sweep.json" --sweep-budget 150
  say "sweep exit $?"
  timeout 60 "$NODE" .gpu-carry/gpu-bench.mjs --configs M --cells lstm --gemm "" --no-torch --json "$OUT/gpu-bench.json" --timeout 50
  say "M-LSTM exit $?"
  exit 0
fi

say "bench: WebGPU figures (one process each), then PyTorch/CUDA"
if [ -n "$QUICK" ]; then
  timeout 300 "$NODE" .gpu-carry/gpu-bench.mjs --quick --json "$OUT/gpu-bench.json" --torch-script .gpu-carry/torch_gpu.py --timeout 90 --torch-timeout 150
else
  timeout 420 "$NODE" .gpu-carry/gpu-bench.mjs --json "$OUT/gpu-bench.json" --torch-script .gpu-carry/torch_gpu.py --timeout 100 --torch-timeout 200
fi
say "bench exit $? (results so far are in $OUT/gpu-bench.json)"
