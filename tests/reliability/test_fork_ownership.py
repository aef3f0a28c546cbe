"""Defect 1: a child forked from the driver must not stop the driver's jobs and stores.

A child made by ``multiprocessing`` (fork start method) or ``os.fork`` inherits the atexit
hook, the SIGTERM handler and the launcher's objects; only the process that started a job
may stop it."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import StartDriver
from tests.reliability.drivers import alive, all_gone

FORKING_DRIVER = """
    import multiprocessing
    from insitu.launchers.local import LocalLauncher
    from insitu.runtime.controller import Controller

    mode = sys.argv[2]
    ctl = Controller(LocalLauncher(grace=1.0))
    job = sleeper(ctl)
    fork = multiprocessing.get_context("fork")
    if mode == "process-terminate":
        child = fork.Process(target=time.sleep, args=(60,))
        child.start()
        child.terminate()  # SIGTERM: the child runs the handler it inherited
        child.join()
    elif mode == "pool":
        with fork.Pool(2) as pool:  # __exit__ terminates the workers (SIGTERM)
            pool.map(abs, range(8))
    elif mode == "fork-exit":
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # runs the atexit hooks it inherited
        os.waitpid(pid, 0)
    elif mode == "fork-stop":
        pid = os.fork()
        if pid == 0:
            try:
                ctl.stop_jobs(["sleeper"])
                report(child="stopped")
            except Exception as err:
                report(child=type(err).__name__)
            os._exit(0)
        os.waitpid(pid, 0)
    report(job=job.job_id)
    ready()
    sys.stdin.readline()
"""


@pytest.mark.parametrize("mode", ["process-terminate", "pool", "fork-exit", "fork-stop"])
def test_forked_child_leaves_the_parents_jobs_running(start_driver: StartDriver, mode: str) -> None:
    driver = start_driver(FORKING_DRIVER, mode)
    driver.wait_ready()
    job = int(driver.fact("job"))
    assert alive(job), f"the sleeper was stopped by a forked child ({mode})"
    if mode == "fork-stop":
        assert driver.fact("child") == "LauncherError"
    driver.go_on()
    err = driver.finish()
    assert driver.proc.returncode == 0, err
    assert not all_gone([job]), "the driver itself still stops its job at exit"


STORE_DRIVER = """
    import multiprocessing
    from insitu import Experiment
    from insitu.store.readiness import find_free_port_block

    exp = Experiment("forks", exp_path=str(out))
    store = exp.create_database(port=find_free_port_block(1), inference_workers=0)
    exp.start(store)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(abs, range(8))
    pid = os.fork()
    if pid == 0:
        sys.exit(0)
    os.waitpid(pid, 0)
    report(active=store.is_active())
    ready()
    sys.stdin.readline()
"""


def test_forked_children_leave_the_store_running(start_driver: StartDriver) -> None:
    driver = start_driver(STORE_DRIVER)
    driver.wait_ready()
    assert driver.fact("active") == "True"
    servers = [p.pid for p in driver.descendants()]
    assert servers
    driver.go_on()
    err = driver.finish()
    assert driver.proc.returncode == 0, err
    assert not all_gone(servers)
