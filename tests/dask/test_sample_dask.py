"""Sampling with the batch split over the workers of a LocalCluster (`client=`):
BernoulliRBM.sample (Gibbs and parallel tempering) and fastgen.sample (diffusion). Each worker
runs the one-process loop on a contiguous block of the batch, its draws told where the block
starts (the kernels' first_row, tests/test_row_blocks.py), so the concatenated blocks are the
one-process result with the same seed, bit for bit: with 2 workers (uneven blocks) and 1."""
import pickle
import threading

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import fastgen
from fastgen.diffusion import DDIMSchedule, DDPMSchedule
from fastgen.diffusion.mixture import GaussianMixtureDenoiser
from worker_failure import kill_a_worker_during

DENOISER = GaussianMixtureDenoiser([0.3, 0.7], [[-1.0, 0.5], [2.0, -1.0]], [np.eye(2) * 0.3, np.eye(2) * 0.5])


@pytest.fixture(scope="module")
def one_worker():
    """A client of a one-worker cluster (threads: no process to start)."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as local:
        with distributed.Client(local) as connected:
            yield connected


@pytest.fixture(scope="module")
def rbm():
    X = (np.random.RandomState(2).rand(60, 12) > 0.6).astype(np.float64)
    return fastgen.BernoulliRBM(7, n_iter=3, random_state=0).fit(X)


def _fresh(model):
    """A copy of a fitted estimator (its own random stream, the same state)."""
    return pickle.loads(pickle.dumps(model))


def test_row_blocks_cover_the_rows_once_and_start_on_row_tiles():
    from fastgen._dask import ROW_TILE, row_blocks

    for n_rows, n_parts in [(7, 2), (2, 2), (191, 2), (192, 2), (2000, 2), (10_001, 3), (5000, 7)]:
        blocks = row_blocks(n_rows, n_parts)
        assert len(blocks) == n_parts and min(count for _, count in blocks) >= 1
        assert [first for first, _ in blocks] == list(np.cumsum([0] + [n for _, n in blocks[:-1]]))
        assert sum(count for _, count in blocks) == n_rows
        if n_rows >= n_parts * ROW_TILE:
            assert all(first % ROW_TILE == 0 for first, _ in blocks)
            assert max(count for _, count in blocks) - min(count for _, count in blocks) < 2 * ROW_TILE


@pytest.mark.parametrize("method,n_temperatures", [("gibbs", None), ("pt", 4), ("pt", 2)])
@pytest.mark.parametrize("n_samples", [7, 2])
def test_rbm_samples_on_two_workers_are_the_one_process_samples(client, rbm, method, n_temperatures, n_samples):
    options = dict(n_steps=25, method=method, random_state=5)
    if method == "pt":
        options.update(n_temperatures=n_temperatures, return_acceptance=True)
    local = _fresh(rbm).sample(n_samples, **options)
    spread = _fresh(rbm).sample(n_samples, client=client, **options)
    if method == "pt":
        (local, local_rate), (spread, spread_rate) = local, spread
        np.testing.assert_array_equal(spread_rate, local_rate)  # swap counts summed over the blocks
        assert np.isfinite(local_rate).all()
    np.testing.assert_array_equal(spread, local)
    assert spread.dtype == local.dtype and 0 < local.mean() < 1


def test_rbm_samples_on_one_worker_and_the_streams_next_draws(one_worker, rbm):
    """One worker: one block, the same samples; the estimator's own stream (random_state None)
    advances as without client, so the next calls agree too."""
    local, spread = _fresh(rbm), _fresh(rbm)
    for _ in range(2):
        np.testing.assert_array_equal(spread.sample(5, n_steps=10, client=one_worker), local.sample(5, n_steps=10))
    np.testing.assert_array_equal(spread.sample(6, n_steps=10, method="pt", client=one_worker),
                                  local.sample(6, n_steps=10, method="pt"))


def _schedulers():
    return [DDPMSchedule(), DDIMSchedule(), fastgen.DDPMScheduler(), fastgen.DDIMScheduler()]


@pytest.mark.parametrize("which", range(4))
def test_diffusion_samples_on_two_workers_are_the_one_process_samples(client, which):
    options = dict(num_inference_steps=12, seed=11)
    if which == 1:
        options["eta"] = 1.0  # DDIM with noise in every step
    local = fastgen.sample(DENOISER, (5, 2), _schedulers()[which], **options)
    spread = fastgen.sample(DENOISER, (5, 2), _schedulers()[which], client=client, **options)
    np.testing.assert_array_equal(spread, local)
    assert spread.dtype == np.float32 and np.isfinite(local).all()


def _shifted(x, t, condition):
    """A denoiser with one condition per sample: it must see its own sample's row."""
    return DENOISER(x, t) + np.asarray(condition, dtype=x.dtype)[:, None]


def test_per_sample_conditions_go_with_their_samples(client, one_worker):
    condition = np.linspace(-1.0, 1.0, 5)
    options = dict(num_inference_steps=8, seed=3, condition=condition, dtype=np.float64)
    local = fastgen.sample(_shifted, (5, 2), DDPMSchedule(), **options)
    for workers in (client, one_worker):
        np.testing.assert_array_equal(fastgen.sample(_shifted, (5, 2), DDPMSchedule(), client=workers, **options),
                                      local)


def test_progress_with_a_client_counts_the_blocks(client, capsys):
    fastgen.sample(DENOISER, (4, 2), DDIMSchedule(), num_inference_steps=3, client=client, progress=True)
    assert "2/2" in capsys.readouterr().err


# ---------------------------------------------------------------- bad input, before any work


class _Unpicklable:
    def __init__(self):
        self.lock = threading.Lock()

    def __call__(self, x, t):
        return x


@pytest.mark.parametrize("call,error,message", [
    (lambda rbm, client: rbm.sample(3, client="tcp://127.0.0.1:8786"), TypeError,
     "client must be a distributed.Client, got str"),
    (lambda rbm, client: rbm.sample(1, client=client), ValueError, "n_samples=1 is fewer than the client's 2 workers"),
    (lambda rbm, client: fastgen.sample(DENOISER, (1, 2), DDPMSchedule(), client=client), ValueError,
     r"shape\[0\]=1 is fewer than the client's 2 workers"),
    (lambda rbm, client: fastgen.sample(DENOISER, (4, 2), DDPMSchedule(), client=object()), TypeError,
     "client must be a distributed.Client"),
    (lambda rbm, client: fastgen.sample(_Unpicklable(), (4, 2), DDPMSchedule(), client=client), TypeError,
     "model must be picklable"),
    (lambda rbm, client: fastgen.sample(DENOISER, (4, 2), DDPMSchedule(), client=client, cuda_graph=True),
     ValueError, "cuda_graph captures one process's loop"),
    (lambda rbm, client: fastgen.sample(DENOISER, (4, 2), DDPMSchedule(), client=client, backend="cpuu"),
     ValueError, "backend='cpuu' is not an available backend"),
    (lambda rbm, client: fastgen.sample(DENOISER, (4, 2), DDPMSchedule(), client=client, dtype=np.int32),
     TypeError, "dtype must be float32"),
])
def test_bad_input_is_an_error_before_any_task(client, rbm, call, error, message):
    before = len(client.who_has())
    with pytest.raises(error, match=message):
        call(rbm, client)
    assert len(client.who_has()) == before  # nothing was sent to the workers


def test_a_torch_generator_cannot_be_split(client):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="a torch.Generator cannot be split over workers"):
        fastgen.sample(DENOISER, (4, 2), DDPMSchedule(), seed=torch.Generator().manual_seed(0), client=client)


def test_a_worker_dying_mid_run_is_an_error_or_the_same_samples(client, rbm):
    """A worker killed while it samples: Dask runs its block again elsewhere (the same samples:
    a block's draws depend on its rows only) or the call raises; never other samples."""
    options = dict(n_steps=30000, random_state=1)  # about a second: the kill lands mid-run
    expected = _fresh(rbm).sample(40, **options)
    outcome, killed_mid_run = kill_a_worker_during(client, lambda: _fresh(rbm).sample(40, client=client, **options),
                                                   after_s=0.3)
    if "error" not in outcome:
        np.testing.assert_array_equal(outcome["result"], expected)
    print("killed mid-run:", killed_mid_run, "outcome:", "error" if "error" in outcome else "same samples")
