"""log_likelihood keeps its memory bounded for any number of samples."""
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import numpy as np, keras_vae as kv
    vae = kv.VAE({"name": "mlp", "hidden_units": [4]}, {"name": "mlp", "hidden_units": [4]},
                 latent_dim=2, input_shape=(4,), likelihood={"name": "gaussian", "scale": 1.0}, seed=0)
    x = np.zeros((1, 4), "float32")
    vae.log_likelihood(x, num_samples=1000, seed=0)  # warm: traces, TF's own allocations
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ll = vae.log_likelihood(x, num_samples=int(sys.argv[1]), seed=0)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert np.isfinite(ll).all()
    print((after - before) // 1024)  # MiB of extra peak resident memory
    """
)


@pytest.mark.slow
def test_peak_memory_is_bounded_at_ten_million_samples():
    # All 10**7 samples of one example at once would be ~400 MB of latents and
    # log-densities before the decoder's output; blocks and chunks bound it.
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(10**7)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    extra_mib = int(out.stdout.strip().splitlines()[-1])
    assert extra_mib < 700, f"log_likelihood(num_samples=10**7) added {extra_mib} MiB of peak memory"
