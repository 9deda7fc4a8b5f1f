"""A worker of the tests' cluster killed while a call runs: what the call gave, or raised."""
import threading
import time
import warnings


def kill_a_worker_during(client, call, after_s):
    """Runs `call()` in a thread, kills one worker of `client` `after_s` seconds later, and
    returns ({"result": ...} or {"error": ...}, whether the call was still running at the kill)."""
    outcome = {}

    def run():
        try:
            outcome["result"] = call()
        except Exception as exc:  # noqa: BLE001 - what the failure surfaces as is Dask's choice
            outcome["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    time.sleep(after_s)
    killed_mid_run = runner.is_alive()
    victim = sorted(client.scheduler_info()["workers"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            client.run(lambda: __import__("os")._exit(1), workers=[victim])
        except Exception:  # noqa: BLE001 - the connection to the killed worker closes
            pass
    runner.join(120)
    assert not runner.is_alive()
    return outcome, killed_mid_run
