"""log_likelihood streams: its peak memory is one chunk's, whatever the number of samples.

The MNIST figure (one image, the 784-400-20 model, 10**8 samples) takes over an hour on
two cores; ``python benchmarks/log_likelihood.py --memory-samples 1e8`` prints it. The
test measures a small model, whose 10**8 samples take about half a minute.
"""
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import resource
    import numpy as np, keras_vae as kv
    vae = kv.VAE({"name": "mlp", "hidden_units": [4]}, {"name": "mlp", "hidden_units": [4]},
                 latent_dim=2, input_shape=(4,), likelihood={"name": "gaussian", "scale": 1.0}, seed=0)
    x = np.zeros((1, 4), "float32")
    vae.log_likelihood(x, num_samples=1000, seed=0)  # warm: traces, TF's own allocations
    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # MiB
    before = peak()
    for k in (10**6, 10**8):
        ll = vae.log_likelihood(x, num_samples=k, seed=0)
        assert np.isfinite(ll).all()
        print(k, peak() - before)  # MiB of extra peak resident memory
    """
)


@pytest.mark.slow
def test_peak_memory_is_flat_up_to_a_hundred_million_samples():
    # Before the estimator streamed, 10**8 samples of this model added 700 MiB (10**7:
    # 430 MiB): the samples were drawn in blocks of up to 2**25 numbers. Streamed,
    # it is one chunk (2**16 decoder rows here): about 20 MiB for any K.
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    extra = dict(map(int, line.split()) for line in out.stdout.strip().splitlines()[-2:])
    assert extra[10**8] <= 150, f"log_likelihood(num_samples=10**8) added {extra[10**8]} MiB of peak memory"
    # Flat: a hundred times the samples holds no more than a few MiB more.
    assert extra[10**8] - extra[10**6] <= 16, f"peak memory grew with K: {extra}"
