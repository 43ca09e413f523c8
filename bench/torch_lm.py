# The PyTorch side of `npm run bench`: the same recurrent language-model step as bench/run.ts
# (Embedding -> RNN/LSTM/GRU -> Linear on every step -> cross-entropy -> backward -> Adam), timed
# one repetition at a time on request so that gradlab and PyTorch repetitions alternate and a
# change in machine load hits both. Protocol: one JSON object per line on stdin, one JSON reply per
# line on stdout.
#   {"cmd": "setup", "cell": "lstm", "B": 32, "T": 64, "V": 64, "E": 64, "H": 128}
#   {"cmd": "time", "mode": "train" | "infer", "threads": 1}  -> {"seconds": wall, "cpuSeconds": cpu}
#   {"cmd": "info"} -> versions and BLAS configuration
import json
import sys
import time

import torch

torch.manual_seed(0)
state = {}


def setup(msg):
    B, T, V, E, H = msg["B"], msg["T"], msg["V"], msg["E"], msg["H"]
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[msg["cell"]]
    emb = torch.nn.Embedding(V, E)
    rnn = cls(E, H)
    head = torch.nn.Linear(H, V)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    state.update(
        B=B, T=T, V=V, H=H, emb=emb, rnn=rnn, head=head,
        opt=torch.optim.Adam(params, lr=1e-3),
        x=torch.randint(0, V, (T, B)),
        y=torch.randint(0, V, (T * B,)),
    )


def forward():
    s = state
    out, _ = s["rnn"](s["emb"](s["x"]))
    return s["head"](out.reshape(-1, s["H"]))


def train_step():
    s = state
    loss = torch.nn.functional.cross_entropy(forward(), s["y"])
    s["opt"].zero_grad()
    loss.backward()
    s["opt"].step()


def infer_step():
    with torch.no_grad():
        forward()


def timed(msg):
    torch.set_num_threads(msg["threads"])
    fn = train_step if msg["mode"] == "train" else infer_step
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return {"seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0}


def info():
    return {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "config": torch.__config__.show(),
        "interopThreads": torch.get_num_interop_threads(),
    }


for line in sys.stdin:
    msg = json.loads(line)
    if msg["cmd"] == "setup":
        setup(msg)
        reply = {"ok": True}
    elif msg["cmd"] == "time":
        reply = timed(msg)
    elif msg["cmd"] == "info":
        reply = info()
    else:
        reply = {"error": "unknown command " + str(msg["cmd"])}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
