"""The Debian package installed and removed for real, in a throwaway root (issue 14 item 1's install test): a
directory with its own dpkg database and /etc, the host's /usr seen through an overlay whose writes land in the
test's directory (a private mount namespace, so nothing of the host changes), dpkg run chrooted there. Checks: the
files and their modes, the system user and group made by postinst, the state directory, the unit enabled, the
conffile kept on reinstall and remove and gone on purge, the user kept, and that the host's passwd and /usr did not
change. Needs root (chroot, mounts): skipped (77) otherwise."""
import glob
import hashlib
import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Workdir, run_tests  # noqa: E402

BUILD = sys.argv[1]
work = Workdir("deb-install")
ROOT = os.path.join(work.path, "root")
UPPER, OVLWORK = os.path.join(work.path, "usr-upper"), os.path.join(work.path, "usr-work")
ETC_FILES = ("passwd", "group", "shadow", "gshadow", "adduser.conf", "deluser.conf", "login.defs", "nsswitch.conf",
             "shells")
state = {}


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def in_root(cmd, check=True):
    """Runs cmd (a shell line) chrooted in ROOT, with /usr as an overlay of the host's in a private namespace."""
    script = (f"set -e; mount --make-rprivate /; "
              f"mount -t overlay overlay -o lowerdir=/usr,upperdir={UPPER},workdir={OVLWORK} {ROOT}/usr; "
              f"mount --bind /dev/null {ROOT}/dev/null; "
              f"mount -t proc proc {ROOT}/proc; "  # the sanitizers read /proc/self (ASan builds)
              f"exec chroot {ROOT} /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c '{cmd}'")
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if check:
        assert r.returncode == 0, (cmd, r.stdout[-3000:], r.stderr[-3000:])
    return r


def rpath(p):
    return os.path.join(ROOT, p.lstrip("/"))


def in_usr(p):
    """Where a file the package put under /usr (or the merged /lib, /bin, /sbin) landed: the overlay's upper dir."""
    for link in ("/lib/", "/bin/", "/sbin/"):
        if p.startswith(link) and os.path.islink(link.rstrip("/")):
            p = "/usr" + p
    assert p.startswith("/usr/"), p
    return os.path.join(UPPER, p[len("/usr/"):])


def test_build_and_make_root():
    subprocess.run(["cpack", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", work.path], cwd=BUILD,
                   check=True, capture_output=True, timeout=300)
    (deb,) = glob.glob(os.path.join(work.path, "lpwagw_*.deb"))
    for d in ("usr", "etc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "tmp", "dev",
              "run", "proc", UPPER, OVLWORK):
        os.makedirs(rpath(d) if not d.startswith("/") else d, exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        if os.path.islink("/" + link):
            os.symlink(os.readlink("/" + link), rpath(link))
    for name in ETC_FILES:
        if os.path.exists("/etc/" + name):
            shutil.copy2("/etc/" + name, rpath("/etc/" + name))
    for name in ("status", "available"):
        open(rpath("/var/lib/dpkg/" + name), "w").close()
    open(rpath("/dev/null"), "w").close()
    shutil.copy(deb, rpath("/tmp/lpwagw.deb"))
    state["host_passwd"] = digest("/etc/passwd")
    state["host_group"] = digest("/etc/group")


def test_install():
    # --force-depends: the libraries are there (the host's /usr), the throwaway database just does not list them
    in_root("dpkg --force-depends -i /tmp/lpwagw.deb")
    out = in_root("dpkg-query -W -f=\"\\${Status}\" lpwagw").stdout
    assert out == "install ok installed", out
    for f in ("/usr/sbin/lpwagw", "/usr/sbin/lpwagw-ctl", "/lib/systemd/system/lpwagw.service",
              "/usr/share/bash-completion/completions/lpwagw-ctl", "/usr/share/man/man8/lpwagw-ctl.8.gz",
              "/usr/share/doc/lpwagw/telemetry.schema.json"):
        assert os.path.exists(in_usr(f)), f
    users = {line.split(":")[0]: line.split(":") for line in open(rpath("/etc/passwd"))}
    assert "lpwagw" in users, "postinst made no user"
    u = users["lpwagw"]
    assert int(u[2]) < 1000 and u[5] == "/var/lib/lpwagw" and u[6].strip().endswith("nologin"), u
    groups = {line.split(":")[0]: line.split(":") for line in open(rpath("/etc/group"))}
    assert "lpwagw" in groups and groups["lpwagw"][2] == u[3], (groups.get("lpwagw"), u)
    st = os.stat(rpath("/var/lib/lpwagw"))
    assert stat.S_IMODE(st.st_mode) == 0o750 and st.st_uid == int(u[2]) and st.st_gid == int(u[3]), st
    st = os.stat(rpath("/etc/lpwagw/lpwagw.conf"))
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0 and st.st_gid == int(u[3]), st
    if shutil.which("deb-systemd-helper"):
        wants = rpath("/etc/systemd/system/multi-user.target.wants/lpwagw.service")
        assert os.path.islink(wants), "the unit was not enabled"
    in_root("/usr/sbin/lpwagw --check-config /etc/lpwagw/lpwagw.conf")
    state["uid"] = int(u[2])


def test_conffile_kept_on_reinstall_and_remove():
    conf = rpath("/etc/lpwagw/lpwagw.conf")
    with open(conf, "a") as f:
        f.write("# edited by the operator\n")
    in_root("dpkg --force-depends --force-confold -i /tmp/lpwagw.deb")
    assert open(conf).read().endswith("# edited by the operator\n"), "the edited conffile was replaced"
    # the user is made once: a second configure finds it
    assert [line for line in open(rpath("/etc/passwd")) if line.startswith("lpwagw:")][0].split(":")[2] == \
        str(state["uid"])
    in_root("dpkg -r lpwagw")
    assert not os.path.exists(in_usr("/usr/sbin/lpwagw")) and not os.path.exists(in_usr("/usr/sbin/lpwagw-ctl")), \
        "the binaries stayed"
    assert open(conf).read().endswith("# edited by the operator\n"), "remove must keep the conffile"
    assert os.path.isdir(rpath("/var/lib/lpwagw")), "remove must keep the state"
    out = in_root("dpkg-query -W -f=\"\\${Status}\" lpwagw").stdout
    assert out == "deinstall ok config-files", out


def test_purge():
    in_root("dpkg -P lpwagw")
    assert not os.path.exists(rpath("/etc/lpwagw/lpwagw.conf")) and not os.path.exists(rpath("/etc/lpwagw"))
    assert not os.path.exists(rpath("/var/lib/lpwagw")), "purge removes the state"
    assert any(line.startswith("lpwagw:") for line in open(rpath("/etc/passwd"))), "the user is kept (Debian practice)"
    assert not glob.glob(rpath("/etc/systemd/system/*/lpwagw.service")), "purge leaves the unit enabled"


def test_host_untouched():
    assert digest("/etc/passwd") == state["host_passwd"] and digest("/etc/group") == state["host_group"]
    assert not os.path.exists("/usr/share/bash-completion/completions/lpwagw-ctl") or \
        os.path.getmtime("/usr/share/bash-completion/completions/lpwagw-ctl") < os.path.getmtime(rpath("/tmp/lpwagw.deb"))


def usable():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("chroot"):
        return False
    # a container without CAP_SYS_ADMIN, or a kernel without overlayfs: no throwaway root here
    d = os.path.join(work.path, "probe")
    for sub in ("lower", "upper", "work", "merged"):
        os.makedirs(os.path.join(d, sub))
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --make-rprivate / && mount -t overlay overlay -o "
                            f"lowerdir={d}/lower,upperdir={d}/upper,workdir={d}/work {d}/merged"],
                           capture_output=True)
    return probe.returncode == 0


if __name__ == "__main__":
    if not usable():
        print("SKIP: needs root, unshare and chroot (mount namespace, overlayfs)")
        sys.exit(77)
    run_tests([test_build_and_make_root, test_install, test_conffile_kept_on_reinstall_and_remove, test_purge,
               test_host_untouched])
