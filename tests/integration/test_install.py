"""What `make install` puts on a machine: the unit passes systemd's own
checker, and the manual pages it names are installed and render cleanly."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

ANALYZE = shutil.which("systemd-analyze")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """make install into a private PREFIX (no DESTDIR), so that the unit's
    ExecStart= names a binary that exists and systemd-analyze can check it."""
    prefix = str(tmp_path_factory.mktemp("prefix"))
    r = subprocess.run(["make", "-s", "install", f"PREFIX={prefix}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return prefix


def verify(unit, prefix):
    env = dict(os.environ, MANPATH=os.path.join(prefix, "share", "man"))
    return subprocess.run([ANALYZE, "verify", unit], capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.mark.skipif(not ANALYZE, reason="systemd-analyze is not installed on this machine")
def test_installed_unit_passes_systemd_analyze_verify(installed, tmp_path):
    unit = os.path.join(installed, "lib", "systemd", "system", "chatgwd.service")
    text = open(unit).read()
    assert f"ExecStart={installed}/bin/chatgwd " in text
    r = verify(unit, installed)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.strip() == "", r.stderr      # not even a warning
    # the checker does catch a broken unit: a missing binary, a missing man page
    broken = tmp_path / "chatgwd.service"
    broken.write_text(text.replace(f"{installed}/bin/chatgwd ", f"{installed}/bin/nope ", 1))
    assert verify(str(broken), installed).returncode != 0
    broken.write_text(text.replace("man:chatgw.conf(5)", "man:chatgw-nope(5)"))
    assert verify(str(broken), installed).returncode != 0


@pytest.mark.skipif(not shutil.which("man"), reason="man is not installed on this machine")
def test_installed_man_pages_render_without_warnings(installed):
    for page in ("man5/chatgw.conf.5", "man8/chatgwd.8", "man1/chatgwctl.1"):
        path = os.path.join(installed, "share", "man", page)
        r = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, MANWIDTH="80"))
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        assert "OPTIONS" in r.stdout or "DESCRIPTION" in r.stdout
