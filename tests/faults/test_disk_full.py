"""The disk full while an unlearned model is saved, made real by the kernel: a file size limit (RLIMIT_FSIZE, the
writes fail with EFBIG; no privilege needed) or, where this machine lets a test mount one, a 1 MiB tmpfs in a
mount namespace of the save's own (ENOSPC, gone with the process). The tiny model's weights (3 MB) do not fit
either; its LoRA adapter (80 kB) does.

The save itself: nothing under OUTDIR/model or OUTDIR/adapter unless complete, and a reason that says why. The
job on a real worker under the limit: failed with that reason on the officer's page, no version registered, the
previous version still current, the run's directory removed, the request ready for another try.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fault_helpers import engine_worker_group

from app.jobs.models import JobStatus
from app.requests.statuses import RequestStatus
from tests.job_stack import Stack
from tests.workers.worker_helpers import REPO_ROOT, env_for

LIMIT = 1 << 20  # bytes: the merged weights (3 MB) cannot be written, the adapter can
_REASONS = {"fsize": "File too large", "tmpfs": "No space left on device"}

SAVE = """
import json, resource, sys
from pathlib import Path
from modelfiles import UnusablePath
from modelfiles.model_dir import check_model_dir
from workers.engine.errors import EngineError
from workers.engine.methods import adapters
from workers.engine.modelio import load_model

model_dir, out, mode, limit = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
loaded = load_model(model_dir, device="cpu")
model = adapters.make_trainable(loaded.model, lora=True, rank=4, alpha=8, seed=0)
if mode == "fsize":  # set here, after loading: only the save's writes meet it
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
out.mkdir()
try:
    adapters.save_outputs(model, loaded.tokenizer, out_dir=out, lora=True)
    error = None
except EngineError as exc:
    error = str(exc)
try:
    check_model_dir(out / "model")
    passes = True
except UnusablePath:
    passes = False
print(json.dumps({"error": error, "left": sorted(str(p.relative_to(out)) for p in out.rglob("*")),
                  "passes": passes}))
"""


def _tmpfs_wrapper(mountpoint: Path) -> list[str]:
    """Run a command with a 1 MiB tmpfs at ``mountpoint``, private to its own mount namespace."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            f'mount -t tmpfs -o size={LIMIT} rtbf-fault "$0" && exec "$@"', str(mountpoint)]


def _tmpfs_refusal(tmp_path: Path) -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = tmp_path / "probe"
    probe.mkdir()
    done = subprocess.run([*_tmpfs_wrapper(probe), "true"], capture_output=True, text=True, timeout=30, check=False)
    return None if done.returncode == 0 else f"this machine does not let a test mount a tmpfs: {done.stderr.strip()}"


@pytest.mark.parametrize("mode", ["fsize", "tmpfs"])
def test_a_save_that_runs_out_of_room_leaves_nothing_that_passes_for_a_model(mode: str, tiny_model_dir: Path,
                                                                             tmp_path: Path) -> None:
    wrapper: list[str] = []
    target = tmp_path
    if mode == "tmpfs":
        refusal = _tmpfs_refusal(tmp_path)
        if refusal:
            pytest.skip(refusal)
        target = tmp_path / "small-disk"
        target.mkdir()
        wrapper = _tmpfs_wrapper(target)
    done = subprocess.run([*wrapper, sys.executable, "-c", SAVE, str(tiny_model_dir), str(target / "out"), mode,
                           str(LIMIT)],
                          cwd=REPO_ROOT, env=env_for(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["error"] == (f"Saving the unlearned model failed: {_REASONS[mode]}. Nothing was put into service; "
                                "make room in the data directory and start the job again.")
    assert outcome["left"] == [] and not outcome["passes"]  # neither the adapter nor a partial model directory


@pytest.mark.slow
@pytest.mark.xdist_group("engine-worker")  # one worker subprocess at a time on the 2 shared cores
def test_an_unlearning_job_whose_model_cannot_be_saved_fails_and_registers_nothing(stack: Stack) -> None:
    request_id, person = stack.file_request()
    name = f"gpu-{uuid.uuid4().hex[:8]}@testhost"
    # The whole worker under the limit (prlimit sets it, then execs the command rtbf up runs): its log stays far
    # below it, and discovery writes no file.
    limited = ("prlimit", f"--fsize={LIMIT}", "--")
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit (util-linux) is not installed")
    with engine_worker_group(stack.env, stack.log_path, hostname=name, prefix=limited) as proc:
        discovery = stack.wait_for_job(stack.start_discovery(request_id), proc)
        assert discovery.status == JobStatus.succeeded, discovery.error
        job_id = stack.start_unlearning(request_id, max_steps=3)
        job = stack.wait_for_job(job_id, proc)
    reason = ("Saving the unlearned model failed: File too large. Nothing was put into service; make room in the "
              "data directory and start the job again.")
    assert job.status == JobStatus.failed and job.error == reason
    assert job.progress.get("stage") == "save"  # it got as far as the save, and no further
    assert job.result_version_id is None and job.evidence is None
    assert [v.number for v in job.target_model.versions] == [1] and job.target_model.current_number == 1
    assert stack.request_status(request_id) == RequestStatus.failed  # unlearning may start again from here
    assert reason in stack.officer_page(f"/officer/jobs/{job_id}")
    run_dir = Path(stack.env["RTBF_DATA_DIR"]) / "jobs" / job_id
    assert not run_dir.exists() or not any(run_dir.rglob("*")), sorted(run_dir.rglob("*"))
    stack.assert_log_clean(person)
