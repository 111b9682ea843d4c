"""The kubelet's volume roots and what the pod's user may create in them (pod.py)."""

import os

from tests.pipelines.runners import pod


def _volumes(tmp_path):
    volumes = {"/gcs": str(tmp_path / "gcs"), "/gcs/bucket": str(tmp_path / "staging")}
    for host in volumes.values():
        os.makedirs(host)
    return volumes


def test_without_fs_group_a_fresh_filesystem_root_is_roots_alone(tmp_path):
    volumes = _volumes(tmp_path)
    pod.kubelet_volumes(volumes, {"/gcs/bucket"}, fs_group=None)
    roots = set(volumes.values())

    empty_dir, fresh = (os.stat(volumes[p]) for p in ("/gcs", "/gcs/bucket"))
    assert (empty_dir.st_uid, empty_dir.st_gid, empty_dir.st_mode & 0o7777) == (0, 0, 0o777)
    assert (fresh.st_uid, fresh.st_gid, fresh.st_mode & 0o7777) == (0, 0, 0o755)
    assert pod.user_can_create(f"{volumes['/gcs']}/a/b", roots) == (True, "")
    assert pod.user_can_create(f"{volumes['/gcs/bucket']}/a/b", roots) == (
        False,
        volumes["/gcs/bucket"],
    )


def test_fs_group_gives_every_root_to_the_group_with_setgid(tmp_path):
    volumes = _volumes(tmp_path)
    pod.kubelet_volumes(volumes, {"/gcs/bucket"}, fs_group=1000)
    roots = set(volumes.values())

    empty_dir, fresh = (os.stat(volumes[p]) for p in ("/gcs", "/gcs/bucket"))
    assert (empty_dir.st_gid, empty_dir.st_mode & 0o7777) == (1000, 0o2777)
    assert (fresh.st_uid, fresh.st_gid, fresh.st_mode & 0o7777) == (0, 1000, 0o2775)
    assert pod.user_can_create(f"{volumes['/gcs/bucket']}/a", roots, gids=(1000,)) == (True, "")
    # Another group is "other": r-x on the fresh root.
    assert not pod.user_can_create(f"{volumes['/gcs/bucket']}/a", roots, gids=(2000,))[0]


def test_below_a_root_everything_is_the_launchers_own(tmp_path):
    volumes = _volumes(tmp_path)
    pod.kubelet_volumes(volumes, {"/gcs/bucket"}, fs_group=None)
    created = os.path.join(volumes["/gcs/bucket"], "made-by-launcher")
    os.makedirs(created)  # as root here; the launcher would have been the pod's user
    os.chmod(created, 0o755)
    assert pod.user_can_create(f"{created}/x", set(volumes.values())) == (True, "")


def test_the_cluster_gives_runs_the_images_group():
    assert pod.cluster_fs_group() == pod.POD_GID == 1000
