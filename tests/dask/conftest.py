"""The Dask tests' cluster: one `distributed.LocalCluster` of two single-threaded worker
processes for the whole session (started by the first test that asks for it, closed at the
end), and a client connected to it, which is the default scheduler of Dask's compute calls
made while the test runs. Modules skip themselves where Dask is not installed."""
import pytest


@pytest.fixture(scope="session")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  worker_dashboard_address=None) as local:
        yield local


@pytest.fixture
def client(cluster):
    """A client of the session's cluster, with its two workers up (a test may have killed one)."""
    distributed = pytest.importorskip("distributed")
    with distributed.Client(cluster) as connected:
        connected.wait_for_workers(2, timeout=60)
        yield connected
