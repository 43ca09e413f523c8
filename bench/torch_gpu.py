# The PyTorch/CUDA side of bench/gpu.ts: the same float32 GEMMs (TF32 off, so cuBLAS does true
# float32) and the same recurrent language-model training step (Embedding -> cuDNN nn.LSTM/GRU -> Linear ->
# cross-entropy -> backward -> Adam), timed with CUDA synchronisation. Prints one line
# "RESULT {json}" at the end (and partial ones as "PARTIAL {json}" on the way).
#   python3 bench/torch_gpu.py --gemm 8192x768x2048,... --configs '[{"name":"S","cell":"lstm","B":32,...}]' [--quick]
import argparse
import json
import sys
import time

import torch


def sync():
    torch.cuda.synchronize()


def time_gemm(M, K, N, quick):
    a = torch.randn(M, K, device="cuda")
    b = torch.randn(K, N, device="cuda")
    flops = 2 * M * N * K
    iters = max(1, min(200, round(5e10 / flops)))
    for _ in range(3):
        torch.mm(a, b)
    sync()
    best = float("inf")
    for _ in range(2 if quick else 5):
        t0 = time.perf_counter()
        for _ in range(iters):
            torch.mm(a, b)
        sync()
        best = min(best, (time.perf_counter() - t0) / iters)
    return {"seconds": best, "tflops": flops / best / 1e12, "iters": iters}


def time_lm(cfg, quick):
    B, T, V, E, H = cfg["B"], cfg["T"], cfg["V"], cfg["E"], cfg["H"]
    torch.manual_seed(0)
    emb = torch.nn.Embedding(V, E).cuda()
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cfg.get("cell", "lstm")](E, H).cuda()
    head = torch.nn.Linear(H, V).cuda()
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.randint(0, V, (T, B), device="cuda")
    y = torch.randint(0, V, (T * B,), device="cuda")

    def step():
        out, _ = rnn(emb(x))
        loss = torch.nn.functional.cross_entropy(head(out.reshape(-1, H)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step()
    sync()
    steps = 5 if quick else 50
    best = float("inf")
    for _ in range(2 if quick else 3):
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = step()
        loss.item()
        best = min(best, (time.perf_counter() - t0) / steps)
    return {"secondsPerStep": best, "tokensPerSecond": B * T / best}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemm", default="")
    ap.add_argument("--configs", default="[]")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("RESULT " + json.dumps({"skipped": "torch.cuda is not available"}))
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    res = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "device": torch.cuda.get_device_name(0),
        "tf32": False,
        "gemm": {},
        "lm": {},
        "lmTf32Default": {},
    }
    for shape in [s for s in a.gemm.split(",") if s]:
        M, K, N = (int(v) for v in shape.split("x"))
        try:
            res["gemm"][shape] = time_gemm(M, K, N, a.quick)
        except Exception as e:  # one failed figure must not lose the others
            res["gemm"][shape] = {"error": repr(e)}
        print("PARTIAL " + json.dumps({shape: res["gemm"][shape]}), flush=True)
    key = lambda cfg: cfg.get("cell", "lstm") + "-" + cfg["name"]
    for cfg in json.loads(a.configs):
        try:
            res["lm"][key(cfg)] = time_lm(cfg, a.quick)
        except Exception as e:
            res["lm"][key(cfg)] = {"error": repr(e)}
        print("PARTIAL " + json.dumps({key(cfg): res["lm"][key(cfg)]}), flush=True)
    # PyTorch's own default lets cuDNN use TF32 inside the LSTM: reported beside, for reference.
    torch.backends.cudnn.allow_tf32 = True
    for cfg in json.loads(a.configs):
        try:
            res["lmTf32Default"][key(cfg)] = time_lm(cfg, a.quick)
        except Exception as e:
            res["lmTf32Default"][key(cfg)] = {"error": repr(e)}
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
