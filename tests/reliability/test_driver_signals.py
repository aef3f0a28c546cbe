"""Defects 3 and 4, and the driver's death by SIGKILL.

3. SIGTERM/SIGHUP cleanup must be installed even when the first controller (Experiment) is
   made off the main thread.
4. A second Ctrl-C or SIGTERM while the driver stops its jobs must hurry the SIGKILL
   escalation, not abandon it: a job that survives SIGTERM must not survive its driver.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.reliability.conftest import StartDriver
from tests.reliability.drivers import STUBBORN_JOB, all_gone, wait_for_file

OFF_MAIN_THREAD = """
    mode = sys.argv[2]
    made = []

    def make_controller():
        from insitu.launchers.local import LocalLauncher
        from insitu.runtime.controller import Controller

        ctl = Controller(LocalLauncher(grace=1.0))
        made.append(ctl)
        report(job=sleeper(ctl).job_id)

    if mode == "imported-on-main":
        import insitu.runtime.controller  # as `from insitu import Experiment` does
    worker = threading.Thread(target=make_controller)
    worker.start()
    worker.join()
    if mode == "main-registers-later":
        from insitu.launchers.local import LocalLauncher
        from insitu.runtime.controller import Controller

        Controller(LocalLauncher(grace=1.0))
    ready()
    made[0].wait(["sleeper"])
"""


@pytest.mark.parametrize("mode", ["imported-on-main", "main-registers-later"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_cleanup_on_signal_when_first_controller_is_off_main_thread(
    start_driver: StartDriver, mode: str, sig: signal.Signals
) -> None:
    driver = start_driver(OFF_MAIN_THREAD, mode)
    driver.wait_ready()
    job = int(driver.fact("job"))
    driver.proc.send_signal(sig)
    driver.finish()
    assert driver.proc.returncode == -sig  # died of the signal, after cleaning up
    assert not all_gone([job]), f"job {job} outlived its driver after {sig.name}"


STUBBORN_DRIVER = """
    from insitu.launchers.local import LocalLauncher
    from insitu.runtime.controller import Controller

    mode = sys.argv[2]
    ctl = Controller(LocalLauncher(grace=600.0))  # only an escalation can end the job
    job = JobSpec(name="stubborn", exe=sys.executable,
                  args=("-c", sys.argv[3], str(out / "pids")), cwd=out)
    ctl.submit(job, "stubborn")
    while not (out / "pids").exists():
        time.sleep(0.01)
    ready()
    if mode == "explicit-stop":
        ctl.stop_jobs(["stubborn"])  # interrupted by the test's Ctrl-C
    else:
        ctl.wait(["stubborn"])
"""


@pytest.mark.parametrize(
    ("mode", "first", "second"),
    [
        ("blocked", signal.SIGINT, signal.SIGINT),
        ("blocked", signal.SIGTERM, signal.SIGTERM),
        ("blocked", signal.SIGINT, signal.SIGTERM),
        ("explicit-stop", None, signal.SIGINT),
    ],
)
def test_second_signal_during_shutdown_kills_what_survives_sigterm(
    start_driver: StartDriver,
    tmp_path: Path,
    mode: str,
    first: signal.Signals | None,
    second: signal.Signals,
) -> None:
    driver = start_driver(STUBBORN_DRIVER, mode, STUBBORN_JOB)
    driver.wait_ready()
    pids = [int(p) for p in driver.fact("pids").split()]
    if first is not None:
        driver.proc.send_signal(first)
    wait_for_file(tmp_path / "pids.term")  # the job got SIGTERM: the grace period runs
    driver.proc.send_signal(second)
    err = driver.finish()
    assert driver.proc.returncode != 0, err
    assert not all_gone(pids), f"processes {pids} survived the second {second.name}\n{err}"


KILLED_DRIVER = """
    from insitu import Experiment
    from insitu.store.readiness import find_free_port_block

    exp = Experiment("killed", exp_path=str(out))
    store = exp.create_database(port=find_free_port_block(1))
    model = exp.create_model("sim", exp.create_run_settings("/bin/sleep", ["300"]))
    exp.start(store, model, block=False)
    ready()
    threading.Event().wait()
"""


def test_sigkilled_driver_leaves_nothing_running(start_driver: StartDriver) -> None:
    """A driver killed by SIGKILL runs no cleanup; the kernel ends its local children."""
    driver = start_driver(KILLED_DRIVER)
    driver.wait_ready()
    started = [p.pid for p in driver.descendants()]
    assert len(started) >= 3  # the shard, its inference worker, the model
    driver.finish(kill=True)
    assert not all_gone(started), "processes outlived a SIGKILLed driver"
