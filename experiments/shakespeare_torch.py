"""The Tiny Shakespeare configuration of experiments/shakespeare.ts (FULL), in PyTorch, for comparison.

    python3 experiments/shakespeare_torch.py [--steps 3000] [--threads 2]

Same data split (first 90% / last 10%), vocabulary (sorted characters), contiguous-stream batches
of 32 x 64 with the state carried across windows, 2-layer LSTM 256 with embedding 64 and forget-gate
bias 1 (bias_ih's forget block 1, bias_hh's 0), Adam lr 2e-3 with 100 linear warm-up steps and a
cosine decay to 5% at the last step, gradients clipped to global norm 1; the final validation is
the whole last 10% read as 16 streams of 128-step windows, as evalNats does. Prints JSON.
"""
import argparse, json, math, os, time
import torch
import torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=3000)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

here = os.path.dirname(os.path.abspath(__file__))
text = open(os.path.join(here, "..", "data", "tinyshakespeare.txt"), encoding="utf8").read()
vocab = sorted(set(text))
index = {c: i for i, c in enumerate(vocab)}
ids = torch.tensor([index[c] for c in text], dtype=torch.long)
cut = int(len(ids) * 0.9)
train, val = ids[:cut], ids[cut:]

def streams(x, b):
    L = len(x) // b
    return x[: L * b].view(b, L).t().contiguous()  # [L, B]: column b is stream b

def windows(s, bptt):
    L = s.shape[0]
    for start in range(0, L - 1, bptt):
        T = min(bptt, L - 1 - start)
        yield s[start : start + T], s[start + 1 : start + 1 + T]

class LM(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.embedding = nn.Embedding(V, 64)
        self.rnn = nn.LSTM(64, 256, 2)
        self.decoder = nn.Linear(256, V)
        H = 256
        with torch.no_grad():
            for k in range(2):
                getattr(self.rnn, f"bias_ih_l{k}")[H : 2 * H] = 1.0
                getattr(self.rnn, f"bias_hh_l{k}")[H : 2 * H] = 0.0

    def forward(self, x, state=None):
        y, state = self.rnn(self.embedding(x), state)
        return self.decoder(y), state

V = len(vocab)
model = LM(V)
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
warm, total, minf = 100, a.steps, 0.05
def factor(s):
    if s < warm:
        return s / max(1, warm)
    p = min(1.0, (s - warm) / max(1, total - warm))
    return minf + (1 - minf) * 0.5 * (1 + math.cos(math.pi * p))
sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
ce = nn.CrossEntropyLoss()

def evaluate(x):
    model.eval()
    tot, n, st = 0.0, 0, None
    with torch.no_grad():
        for inp, tgt in windows(streams(x, 16), 128):
            out, st = model(inp, st)
            tot += ce(out.reshape(-1, V), tgt.reshape(-1)).item() * inp.numel()
            n += inp.numel()
    model.train()
    return tot / n

s = streams(train, 32)
wins = list(windows(s, 64))
state = None
t0, c0 = time.time(), time.process_time()
for step in range(a.steps):
    k = step % len(wins)
    if k == 0:
        state = None
    inp, tgt = wins[k]
    out, state = model(inp, state)
    loss = ce(out.reshape(-1, V), tgt.reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    state = tuple(h.detach() for h in state)
    if (step + 1) % 500 == 0:
        print(json.dumps({"step": step + 1, "trainLoss": loss.item(), "seconds": time.time() - t0}), flush=True)
secs, cpu = time.time() - t0, time.process_time() - c0
print(json.dumps({"finalValLoss": evaluate(val), "steps": a.steps, "seconds": secs, "tokensPerSecond": a.steps * 32 * 64 / secs,
                  "cpuSeconds": cpu, "torch": torch.__version__, "threads": a.threads}), flush=True)
