"""An out-of-tree plugin: `make install` into a temporary DESTDIR puts the
header, chatgw.pc and the plugins in place; the example of plugins/README.md
is compiled against the installed header with pkg-config and loaded by the
installed chatgwd, where its hook, host send and kv store work."""
import os
import re
import subprocess

from client import run
from conftest import ROOT
from test_agents import frames_until, make_agent
from test_plugins import assigned_chat


def install(tmp):
    destdir = os.path.join(tmp, "dest")
    subprocess.run(["make", "-s", "install", f"DESTDIR={destdir}", "PREFIX=/usr/local"],
                   cwd=ROOT, check=True, capture_output=True)
    return destdir


def pkg_config(destdir, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(destdir, "usr/local/lib/pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=destdir)
    return subprocess.run(["pkg-config", *args, "chatgw"], env=env, check=True,
                          capture_output=True, text=True).stdout.split()


def example_source():
    with open(os.path.join(ROOT, "plugins", "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- example:begin -->\n```c\n(.*?)```\n<!-- example:end -->", text, re.S)
    assert m, "plugins/README.md lost its example"
    return m.group(1)


def test_install_puts_the_abi_in_place_for_pkg_config(tmp_path):
    destdir = install(str(tmp_path))
    cflags = pkg_config(destdir, "--cflags")
    assert cflags == [f"-I{destdir}/usr/local/include/chatgw"]
    assert os.path.isfile(os.path.join(destdir, "usr/local/include/chatgw/chatgw_plugin.h"))
    for so in ("quickreply.so", "guard.so", "escalate.so"):
        assert os.path.isfile(os.path.join(destdir, "usr/local/lib/chatgw/plugins", so))
    # (pkg-config puts the sysroot in front of the variable too)
    assert pkg_config(destdir, "--variable=plugindir") == [
        f"{destdir}/usr/local/lib/chatgw/plugins"]


def test_the_readme_example_builds_out_of_tree_and_works(redis, gateway, tmp_path):
    tmp = str(tmp_path)
    destdir = install(tmp)
    src = os.path.join(tmp, "hello.c")
    with open(src, "w") as f:
        f.write(example_source())
    so = os.path.join(tmp, "hello.so")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    *pkg_config(destdir, "--cflags"), "-o", so, src], check=True)
    gw = gateway(redis.url, start=False)
    gw.write_config()
    with open(gw.conf, "a") as f:
        f.write(f'    plugin hello {so}\n        text "You are now talking to"\n')
    # the installed daemon, not the one in build/
    gw_bin = os.path.join(destdir, "usr/local/bin/chatgwd")
    r = subprocess.run([gw_bin, "--check-config", "-c", gw.conf], capture_output=True, text=True)
    assert r.returncode == 0 and "plugin hello of store demo: ok" in r.stdout, r.stderr
    gw.start()
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        f, _ = await frames_until(b, lambda f: f["t"] == "msg" and f["from"] == "system")
        assert f["text"] == "You are now talking to Alice" and f["name"] == "Demo Store"
        # the agent's desk gets it too
        await frames_until(a, lambda f: f["t"] == "msg" and f.get("from") == "system")

    run(body())
    assert redis.client().get("cg:pkv:hello:assigned") == b"1"
