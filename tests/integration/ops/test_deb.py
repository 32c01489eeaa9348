"""The Debian package (issue 14 item 1): cpack builds lpwagw_<version>_<arch>.deb; its contents, conffiles and
maintainer scripts are what the issue asks; lintian finds no error; the packaged configuration is valid."""
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from lpwtest import Workdir, run_tests  # noqa: E402

LPWAGW, BUILD = sys.argv[1], sys.argv[2]
work = Workdir("deb")
state = {}


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
    return r.stdout


def test_package_builds():
    run(["cpack", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", work.path], cwd=BUILD)
    debs = glob.glob(os.path.join(work.path, "lpwagw_*.deb"))
    assert len(debs) == 1 and re.fullmatch(r"lpwagw_\d+\.\d+\.\d+_[a-z0-9]+\.deb", os.path.basename(debs[0])), debs
    state["deb"] = debs[0]


def test_contents_conffiles_scripts():
    deb = state["deb"]
    files = {line.split()[-1].lstrip(".") for line in run(["dpkg-deb", "-c", deb]).splitlines()}
    for f in ("/usr/sbin/lpwagw", "/etc/lpwagw/lpwagw.conf", "/lib/systemd/system/lpwagw.service",
              "/usr/share/doc/lpwagw/examples/lpwagw.conf.example", "/usr/share/doc/lpwagw/README.md",
              "/usr/share/doc/lpwagw/copyright", "/usr/share/man/man8/lpwagw.8.gz",
              "/usr/share/man/man5/lpwagw.conf.5.gz", "/usr/sbin/lpwagw-ctl", "/usr/share/man/man8/lpwagw-ctl.8.gz",
              "/usr/share/bash-completion/completions/lpwagw-ctl"):
        assert f in files, (f, sorted(files))
    assert run(["dpkg-deb", "-f", deb, "Package"]).strip() == "lpwagw"
    depends = run(["dpkg-deb", "-f", deb, "Depends"])
    for lib in ("libcoap3", "libmosquitto1", "libconfig9", "adduser"):  # shlibdeps found the libraries
        assert lib in depends, depends
    ctl = os.path.join(work.path, "control")
    run(["dpkg-deb", "-e", deb, ctl])
    assert open(os.path.join(ctl, "conffiles")).read().split() == ["/etc/lpwagw/lpwagw.conf"]
    postinst = open(os.path.join(ctl, "postinst")).read()
    assert "adduser --system" in postinst and "install -d -m 0750 -o lpwagw -g lpwagw /var/lib/lpwagw" in postinst
    postrm = open(os.path.join(ctl, "postrm")).read()
    assert "deluser" not in postrm, "the user must be kept on remove"
    for script in ("postinst", "prerm", "postrm"):
        run(["sh", "-n", os.path.join(ctl, script)])


def test_packaged_config_is_valid():
    root = os.path.join(work.path, "root")
    run(["dpkg-deb", "-x", state["deb"], root])
    conf = os.path.join(root, "etc/lpwagw/lpwagw.conf")
    assert 'state_dir = "/var/lib/lpwagw";' in open(conf).read()
    assert '\tsocket = "/run/lpwagw/control.sock";' in open(conf).read()  # lpwagw-ctl's default
    run([LPWAGW, "--check-config", conf])
    for page in ("man8/lpwagw.8.gz", "man8/lpwagw-ctl.8.gz", "man5/lpwagw.conf.5.gz"):  # the roff is readable
        assert "lpwagw" in run(["zcat", os.path.join(root, "usr/share/man", page)])


def test_lintian_no_errors():
    assert shutil.which("lintian"), "lintian is not installed (tools/deps.sh installs it)"
    r = subprocess.run(["lintian", "--tag-display-limit", "0", state["deb"]], capture_output=True, text=True,
                       timeout=600)
    print(r.stdout)
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    assert not errors and r.returncode in (0, 1), (r.returncode, errors, r.stderr[-1000:])


if __name__ == "__main__":
    run_tests([test_package_builds, test_contents_conffiles_scripts, test_packaged_config_is_valid,
               test_lintian_no_errors])
